"""SSE framing, and the classification of HTTP errors, exceptions and malformed chunks into failure kinds."""

from __future__ import annotations

import time

import pytest

from loadtests.client.chat_stream import ChatStreamAccumulator
from loadtests.client.failures import RequestFailure, as_failure, classify_http_error
from loadtests.client.sse import SSEParser


def test_sse_parser_handles_split_events_crlf_and_comments():
    p = SSEParser()
    assert p.feed(b"data: {\"a\"") == []
    assert p.feed(b": 1}\n\ndata: x\n") == [("data", '{"a": 1}')]
    assert p.feed(b"\n: sim-truth {}\r\n\r\nevent: e\ndata: l1\ndata: l2\n\n") == [
        ("data", "x"), ("comment", "sim-truth {}"), ("data", "l1\nl2")]


def test_http_errors_are_classified():
    assert classify_http_error(429, b"slow down").kind == "rate_limited"
    assert classify_http_error(503, b"").kind == "unavailable"
    assert classify_http_error(400, b"This model's maximum context length is 2048 tokens").kind == "context_overflow"
    assert classify_http_error(404, b"no model").kind == "http_4xx"


def test_any_exception_on_the_request_path_becomes_a_named_failure():
    assert as_failure(UnicodeDecodeError("utf-8", b"\xc3(", 0, 1, "invalid continuation byte")).kind == "decode"
    assert as_failure(ConnectionResetError("reset")).kind == "dropped"
    assert as_failure(RuntimeError("odd")).kind == "client_error"
    same = RequestFailure("stall", "x")
    assert as_failure(same) is same


@pytest.mark.parametrize("chunk", ['{"choices": [1]}', '{"choices": [], "usage": "abc"}', '{"choices": "x"}',
                                   '{"usage": {"completion_tokens": "many"}}', "[1, 2]", "{not json"])
def test_chunks_of_the_wrong_shape_are_malformed_json(chunk):
    acc = ChatStreamAccumulator(0.0)
    with pytest.raises(RequestFailure) as info:
        acc.on_data(1.0, chunk)
    assert info.value.kind == "malformed_json"


def test_sse_parser_is_linear_and_refuses_an_oversize_event_early():
    line = b"data: " + b"x" * (50 << 20)
    pieces = [line[i:i + (1 << 18)] for i in range(0, len(line), 1 << 18)]
    roomy = SSEParser(max_event_bytes=64 << 20)
    start = time.perf_counter()
    for piece in pieces:
        assert roomy.feed(piece) == []
    assert roomy.feed(b"\n\n") == [("data", "x" * (50 << 20))]
    assert time.perf_counter() - start < 2.0  # quadratic buffering took about 25 s
    strict = SSEParser(max_event_bytes=4 << 20)
    with pytest.raises(RequestFailure) as info:
        for fed, piece in enumerate(pieces):
            strict.feed(piece)
    assert info.value.kind == "oversize" and fed == 16  # refused once 4 MiB were waiting, not at the end
    with pytest.raises(RequestFailure, match="oversize"):
        SSEParser(max_event_bytes=100).feed(b"data: " + b"y" * 200 + b"\n\ndata: z\n\n")


def test_retry_after_sets_a_bounded_backoff():
    assert classify_http_error(429, b"", "2").backoff_s == 2.0
    assert classify_http_error(503, b"", "Wed, 21 Oct 2015 07:28:00 GMT").backoff_s == 0.0  # a date in the past
    assert classify_http_error(429, b"", "3600").backoff_s == 10.0
    assert classify_http_error(429, b"", None).backoff_s == classify_http_error(503, b"", "soon").backoff_s == 1.0
    assert classify_http_error(500, b"", "5").backoff_s == 0.0
