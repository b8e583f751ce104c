"""SSE framing and the classification of HTTP errors into failure kinds."""

from __future__ import annotations

from loadtests.client.failures import classify_http_error
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
