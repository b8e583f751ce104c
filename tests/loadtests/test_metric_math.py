"""Unit tests of the load tests' metric math, SSE framing, schedule and option checks (no Locust imported)."""

from __future__ import annotations

import argparse
import json
import math
import random

import pytest

from loadtests.core.chat_stream import ChatStreamAccumulator, latencies_of
from loadtests.core.http_stream import SSEParser, StreamError, classify_http_error
from loadtests.core.metrics import Histogram, HistogramSet, exact_percentile
from loadtests.core.options import _positive_ms
from loadtests.core.schedule import ArrivalSchedule, Stage, stage_of
from loadtests.core.workloads import WorkloadRequest, parse_mix, validate_output, WEATHER_TOOL


def _chunk(content=None, token_ids=None, usage=None, finish=None, tool=None, role=False):
    delta = {}
    if role:
        delta["role"] = "assistant"
        delta["content"] = ""
    if content is not None:
        delta["content"] = content
    if tool is not None:
        delta["tool_calls"] = [tool]
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    if token_ids is not None:
        choice["token_ids"] = token_ids
    body = {"choices": [choice]}
    if usage is not None:
        body["usage"] = {"prompt_tokens": 10, "completion_tokens": usage}
    return json.dumps(body)


def test_role_chunk_is_not_the_first_token_and_ttft_never_enters_itl():
    acc = ChatStreamAccumulator(t_send=100.0)
    acc.on_data(100.001, _chunk(role=True))  # role-only chunk right away: not a token
    acc.on_data(100.050, _chunk("a", token_ids=[1]))
    acc.on_data(100.060, _chunk("b", token_ids=[2]))
    acc.on_data(100.080, _chunk("c", token_ids=[3]))
    acc.on_data(100.081, _chunk(finish="length"))
    acc.on_data(100.081, json.dumps({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 3}}))
    acc.on_data(100.082, "[DONE]")
    res = acc.finish()
    lat = latencies_of(res)
    assert lat.ttft_ms == pytest.approx(50.0)
    assert lat.itl_chunk_ms == pytest.approx([10.0, 20.0])
    assert lat.output_tokens == 3 and res.prompt_tokens == 10 and res.token_source == "token_ids"
    assert lat.tpot_ms == pytest.approx((82.0 - 50.0) / 2)
    assert res.text == "abc" and res.finish_reason == "length"


def test_per_token_itl_splits_a_merged_chunk_by_its_token_ids():
    acc = ChatStreamAccumulator(t_send=0.0)
    acc.on_data(0.030, _chunk("x", token_ids=[1]))
    acc.on_data(0.060, _chunk("yyy", token_ids=[2, 3, 4]))  # three tokens in one message: 10 ms each
    acc.on_data(0.061, "[DONE]")
    lat = latencies_of(acc.finish())
    assert lat.itl_chunk_ms == pytest.approx([30.0])
    assert [(round(v, 6), n) for v, n in lat.itl_token_ms] == [(10.0, 3)]
    assert lat.output_tokens == 4


def test_continuous_usage_counts_tokens_per_chunk():
    acc = ChatStreamAccumulator(t_send=0.0)
    acc.on_data(0.001, _chunk(role=True, usage=0))
    acc.on_data(0.020, _chunk("ab", usage=2))
    acc.on_data(0.040, _chunk("cd", usage=4))
    acc.on_data(0.041, "[DONE]")
    res = acc.finish()
    lat = latencies_of(res)
    assert res.token_source == "continuous_usage"
    assert [(round(v, 6), n) for v, n in lat.itl_token_ms] == [(10.0, 2)]


def test_without_per_chunk_counts_the_final_usage_spreads_over_chunks():
    acc = ChatStreamAccumulator(t_send=0.0)
    for i in range(5):
        acc.on_data(0.01 * (i + 1), _chunk("w"))
    acc.on_data(0.06, json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}}))
    acc.on_data(0.06, "[DONE]")
    res = acc.finish()
    lat = latencies_of(res)
    assert res.token_source == "usage" and lat.output_tokens == 9
    # 8 tokens after the first over 4 intervals: 2 tokens of 5 ms each per interval
    assert all(v == pytest.approx(5.0) and n == 2 for v, n in lat.itl_token_ms)


def test_tool_call_deltas_assemble_and_count_as_first_token():
    acc = ChatStreamAccumulator(t_send=0.0)
    acc.on_data(0.001, _chunk(role=True))
    acc.on_data(0.040, _chunk(tool={"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": ""}}))
    acc.on_data(0.050, _chunk(tool={"index": 0, "function": {"arguments": '{"city": "Oslo", '}}))
    acc.on_data(0.060, _chunk(tool={"index": 0, "function": {"arguments": '"unit": "celsius"}'}}, finish="tool_calls"))
    acc.on_data(0.061, "[DONE]")
    res = acc.finish()
    assert latencies_of(res).ttft_ms == pytest.approx(40.0)
    req = WorkloadRequest("tool", {}, "tool", WEATHER_TOOL["function"]["parameters"])
    assert validate_output(req, res) == (True, None)
    res.tool_calls[0].arguments = '{"city": "Oslo", "unit": "kelvin"}'
    valid, why = validate_output(req, res)
    assert valid is False and "kelvin" in why


def test_stream_error_and_non_json_data_raise_with_the_payload():
    acc = ChatStreamAccumulator(t_send=0.0)
    with pytest.raises(StreamError, match="stream_error.*overloaded"):
        acc.on_data(0.1, json.dumps({"error": {"message": "overloaded"}}))
    with pytest.raises(StreamError, match="not JSON.*<html>"):
        acc.on_data(0.1, "<html>")


def test_a_stream_without_output_is_an_invalid_output_error():
    acc = ChatStreamAccumulator(t_send=0.0)
    acc.on_data(0.01, _chunk(role=True))
    acc.on_data(0.02, "[DONE]")
    with pytest.raises(StreamError) as info:
        latencies_of(acc.finish())
    assert info.value.kind == "invalid_output"


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


def test_histogram_percentiles_within_one_percent_and_merge_across_workers():
    rng = random.Random(3)
    values = [rng.lognormvariate(math.log(10), 0.6) for _ in range(20000)]
    a, b = HistogramSet(), HistogramSet()
    for i, v in enumerate(values):
        (a if i % 2 else b).record(["all"], "itl_token", v)
    merged = HistogramSet()
    merged.add_encoded(a.encode())
    merged.add_encoded(b.encode())
    h = merged.get("all", "itl_token")
    assert h.count == len(values)
    for p in (50, 90, 99, 99.9):
        exact = exact_percentile(values, p)
        assert h.percentile(p) == pytest.approx(exact, rel=0.011)


def test_histogram_keeps_sub_millisecond_resolution():
    h = Histogram()
    h.record(0.25)
    h.record(5.004)
    assert h.percentile(0) == pytest.approx(0.25, rel=0.01)
    assert h.percentile(100) == pytest.approx(5.004, rel=0.01)


def test_schedule_workers_partition_one_global_sequence():
    stages = [Stage(2.0, rate=50.0), Stage(2.0, rate=100.0)]
    whole = []
    s = ArrivalSchedule("poisson", stages, epoch=1000.0, seed=7)
    while (slot := s.take()) is not None:
        whole.append(slot)
    parts = []
    for idx in range(3):
        s = ArrivalSchedule("poisson", stages, epoch=1000.0, worker_index=idx, worker_count=3, seed=7)
        while (slot := s.take()) is not None:
            parts.append(slot)
    assert sorted(p.t_intended for p in parts) == [w.t_intended for w in whole]
    first = [w for w in whole if w.stage == 0]
    second = [w for w in whole if w.stage == 1]
    assert 60 < len(first) < 140 and 140 < len(second) < 260  # 100 and 200 expected
    assert all(1000.0 <= w.t_intended < 1002.0 for w in first) and all(1002.0 <= w.t_intended < 1004.0 for w in second)


def test_constant_schedule_is_evenly_spaced():
    s = ArrivalSchedule("constant", [Stage(1.0, rate=10.0)], epoch=0.0)
    times = []
    while (slot := s.take()) is not None:
        times.append(slot.t_intended)
    assert times == pytest.approx([i / 10 for i in range(10)])
    assert stage_of(0.5, 0.0, [Stage(1.0), Stage(1.0)]) == 0 and stage_of(1.5, 0.0, [Stage(1.0), Stage(1.0)]) == 1


def test_bad_options_say_the_flag_and_value():
    with pytest.raises(argparse.ArgumentTypeError, match="--slo-ttft-ms.*positive.*'-5'"):
        _positive_ms("--slo-ttft-ms")("-5")
    with pytest.raises(argparse.ArgumentTypeError, match="--slo-ttft-ms takes milliseconds.*'fast'"):
        _positive_ms("--slo-ttft-ms")("fast")
    with pytest.raises(ValueError, match="unknown workload 'chta'"):
        parse_mix("chta=1")
    assert parse_mix("chat=3,tool=1,json=0") == {"chat": 3.0, "tool": 1.0}
