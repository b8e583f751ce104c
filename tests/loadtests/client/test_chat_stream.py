"""The chat-stream accumulator: what is a token, ITL per chunk and per token, token counts, tool calls, failures."""

from __future__ import annotations

import json

import pytest

from loadtests.client.chat_stream import ChatStreamAccumulator, latencies_of
from loadtests.client.failures import RequestFailure
from loadtests.runner.workloads import WEATHER_TOOL, WorkloadRequest, validate_output


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
    with pytest.raises(RequestFailure, match="stream_error.*overloaded"):
        acc.on_data(0.1, json.dumps({"error": {"message": "overloaded"}}))
    with pytest.raises(RequestFailure, match="not JSON.*<html>"):
        acc.on_data(0.1, "<html>")


def test_a_stream_without_output_is_an_invalid_output_error():
    acc = ChatStreamAccumulator(t_send=0.0)
    acc.on_data(0.01, _chunk(role=True))
    acc.on_data(0.02, "[DONE]")
    with pytest.raises(RequestFailure) as info:
        latencies_of(acc.finish())
    assert info.value.kind == "invalid_output"
