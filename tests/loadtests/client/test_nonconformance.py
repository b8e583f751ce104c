"""The conformance rules a load run applies to each stream: one broken rule each, and a clean stream breaks none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.wires import OPENAI_CHAT
from loadtests.client.nonconformance import Sampler, check_stream

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
           "required": ["city", "unit"], "additionalProperties": False}
BOOK = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


def request(max_tokens: int = 8, tools: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                            "max_tokens": max_tokens, "stream_options": {"include_usage": True}, **extra}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
        body["tool_choice"] = "required"
    return body


def sse(deltas: list[dict[str, Any]], finish: str | None, completion: int | None, prompt: int = 9) -> bytes:
    chunks = [{"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if completion is not None:
        chunks.append({"object": "chat.completion.chunk", "choices": [],
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b": sim-truth {}\n\ndata: [DONE]\n\n"


def tool_deltas(arguments: str, name: str = "get_weather", call_id: str | None = "call_1") -> list[dict[str, Any]]:
    return [{"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}]


TEXT = [{"role": "assistant", "content": ""}] + [{"content": " word"}] * 8
GOOD_ARGS = '{"city": "Oslo", "unit": "celsius"}'


def rules(body: bytes, req: dict[str, Any], **kw: Any) -> list[str]:
    return [violation.rule for violation in check_stream(OPENAI_CHAT, body, req, **kw)]


@pytest.mark.parametrize("body, req, kw", [
    (sse(TEXT, "length", 8), request(), {"counted_tokens": 8}),
    (sse(tool_deltas(GOOD_ARGS), "tool_calls", 7), request(tools=True), {}),
    (sse([{"content": '{"title": "Dune"}'}], "stop", 6), request(64), {"output_schema": BOOK}),
    # cut off at max_tokens: arguments that are not JSON are what a length finish means
    (sse(tool_deltas('{"city": "Os'), "length", 8), request(tools=True), {}),
    (sse([{"content": "Hi."}], "stop", 2), request(), {}),
    # the reference core sums a missing total, so the check must too (it once called such a stream unreadable)
    (sse([{"content": "Hi."}], "stop", 2).replace(b', "total_tokens": 11', b""), request(), {}),
], ids=["text-at-max-tokens", "tool-call", "json-output", "tool-cut-by-length", "stop-early", "usage-without-total"])
def test_a_conformant_stream_breaks_no_rule(body, req, kw):
    assert rules(body, req, **kw) == []


@pytest.mark.parametrize("body, req, kw, rule", [
    (sse(tool_deltas(GOOD_ARGS[:-1]), "tool_calls", 7), request(tools=True), {}, "tool-input-json"),
    (sse(tool_deltas(GOOD_ARGS), "stop", 7), request(tools=True), {}, "stop-reason-matches-content"),
    (sse(TEXT, "tool_calls", 8), request(), {}, "stop-reason-matches-content"),
    (sse(TEXT, "length", 11), request(), {"counted_tokens": 8}, "usage-matches-stream"),
    (sse(TEXT, "length", 6), request(), {}, "length-at-max-tokens"),
    (sse(TEXT, "stop", 9), request(), {}, "length-at-max-tokens"),
    (sse(TEXT, "length", None), request(), {}, "usage-present"),
    (sse(TEXT, "sideways", 8), request(), {}, "finish-reason-known"),
    (sse(TEXT, None, 8), request(), {}, "finish-reason-known"),
    (sse([{"content": "no tool"}], "stop", 3), request(tools=True), {}, "tool-choice-required"),
    (sse(tool_deltas('{"city": "Oslo", "unit": "kelvin"}'), "tool_calls", 7), request(tools=True), {}, "tool-call-schema"),
    (sse(tool_deltas(GOOD_ARGS, name="get_time"), "tool_calls", 7), request(tools=True), {}, "tool-call-schema"),
    (sse(tool_deltas(GOOD_ARGS, call_id=None), "tool_calls", 7), request(tools=True), {}, "schema"),
    (sse([{"content": '{"title": '}], "stop", 4), request(64), {"output_schema": BOOK}, "json-output-schema"),
    (sse([{"content": '{"name": "Dune"}'}], "stop", 6), request(64), {"output_schema": BOOK}, "json-output-schema"),
    (sse(TEXT, "length", 8).replace(b'"total_tokens": 17', b'"total_tokens": 18'), request(), {}, "usage-total"),
    (b"data: {not json\n\ndata: [DONE]\n\n", request(), {}, "wire-decode"),
], ids=["arguments-not-json", "stop-after-tool-call", "tool-calls-after-text", "usage-off", "length-short",
        "over-max-tokens", "no-usage", "unknown-finish", "no-finish", "required-tool-not-called", "arguments-off-schema",
        "undeclared-tool", "tool-call-without-id", "output-not-json", "output-off-schema", "usage-total-wrong",
        "not-decodable"])
def test_each_broken_rule_is_named(body, req, kw, rule):
    assert rules(body, req, **kw) == [rule]


def test_a_violation_says_what_was_expected_and_what_came():
    [violation] = check_stream(OPENAI_CHAT, sse(TEXT, "length", 11), request(), counted_tokens=8)
    assert str(violation) == ("usage-matches-stream: usage says 11 output tokens, the stream carried 8 "
                              "(token ids or continuous usage)")


@pytest.mark.parametrize("fraction, taken", [(1.0, 20), (0.0, 0), (0.25, 5), (0.5, 10)])
def test_the_sampler_takes_its_share_evenly(fraction, taken):
    sampler = Sampler(fraction)
    picks = [sampler.take() for _ in range(20)]
    assert sum(picks) == taken
    if 0 < fraction < 1:  # spread out, not bunched at the start
        step = round(1 / fraction)
        assert all(sum(picks[i:i + step]) == 1 for i in range(0, 20, step))
