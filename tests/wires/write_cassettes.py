"""Writes the `*.written.json` cassettes of the non-OpenAI wire families from their published formats.

Why it exists: no server on this machine speaks Ollama's `/api/chat`, Bedrock ConverseStream, or the
Mistral, Writer and Llama API streams, and the local servers' Anthropic endpoint never produces
thinking blocks, `pause_turn` or `overloaded_error`. These cassettes are written, not recorded; this
script is their reviewable source (each spec below reads as the wire events, in order), and every
cassette says so in `source` with the documentation it follows. The request body stored is the one
the reference provider sends for the suite's case, so a reviewer sees both sides.

    .venv/bin/python tests/wires/write_cassettes.py            # rewrite all
    .venv/bin/python tests/wires/write_cassettes.py anthropic  # one wire
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from conformance.cases import CASES, Case, user  # noqa: E402
from conformance.cassette import (  # noqa: E402
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    write_cassette_atomically,
)
from providers._eventstream import encode_event, encode_exception  # noqa: E402

RECORDINGS = REPO / "recordings"
WRITTEN_AT = "2026-11-22"

@dataclass
class Response:
    status: int
    chunks: list[bytes]
    content_type: str
    end: str = "complete"


# -- request bodies: what the reference providers send for a case ------------------------------------


def _anthropic(case: Case) -> Any:
    from providers.anthropic import AnthropicModel

    params = dict(case.params)
    return AnthropicModel(
        client_args={"base_url": "http://127.0.0.1"}, model_id="smollm2", max_tokens=params.pop("max_tokens", 256),
        params=params or None,
    )


def _ollama(case: Case) -> Any:
    from providers.ollama import OllamaModel

    params = dict(case.params)
    return OllamaModel("http://127.0.0.1", model_id="smollm2", max_tokens=params.pop("max_tokens", None),
                       temperature=params.pop("temperature", None))


def _bedrock(case: Case) -> Any:
    from providers.bedrock import BedrockModel

    params = dict(case.params)
    return BedrockModel(endpoint_url="http://127.0.0.1", api_key="written-cassette", model_id="smollm2",
                        max_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))


# -- Anthropic SSE ------------------------------------------------------------------------------------


def sse(name: str | None, data: Any) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def a_start(input_tokens: int = 14) -> bytes:
    return sse("message_start", {"type": "message_start", "message": {
        "id": "msg_written01", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})


def a_text(index: int, *pieces: str) -> list[bytes]:
    chunks = [sse("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}})]
    chunks += [sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": {"type": "text_delta", "text": piece}}) for piece in pieces]
    return chunks + [a_block_stop(index)]


def a_tool(index: int, tool_id: str, name: str, *pieces: str, stop: bool = True) -> list[bytes]:
    chunks = [sse("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}})]
    chunks += [sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": {"type": "input_json_delta", "partial_json": piece}})
               for piece in ("", *pieces)]
    return chunks + ([a_block_stop(index)] if stop else [])


def a_thinking(index: int, signature: str, *pieces: str) -> list[bytes]:
    chunks = [sse("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "thinking", "thinking": "", "signature": ""}})]
    chunks += [sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": {"type": "thinking_delta", "thinking": piece}}) for piece in pieces]
    chunks.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "signature_delta", "signature": signature}}))
    return chunks + [a_block_stop(index)]


def a_block_stop(index: int) -> bytes:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def a_end(stop_reason: str | None, output_tokens: int = 9, *, usage: dict[str, Any] | None = None) -> list[bytes]:
    return [
        sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                              "usage": usage if usage is not None else {"output_tokens": output_tokens}}),
        sse("message_stop", {"type": "message_stop"}),
    ]


def a_ok(*parts: bytes | list[bytes]) -> Response:
    chunks: list[bytes] = []
    for part in parts:
        chunks.extend(part if isinstance(part, list) else [part])
    return Response(200, chunks, "text/event-stream; charset=utf-8")


def a_error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_written01"})
    return Response(status, [body.encode()], "application/json")


HELLO = ("Hello", ", conformance", " suite!")
WEATHER = ('{"city": ', '"Tokyo"}')

ANTHROPIC_RESPONSES: dict[str, Callable[[], Response]] = {
    "text_multibyte_split": lambda: Response(200, _split_inside_multibyte(
        b"".join([a_start(), *a_text(0, "Grüße, 東京 👋"), *a_end("end_turn")])), "text/event-stream; charset=utf-8"),
    "usage_missing": lambda: a_ok(
        sse("message_start", {"type": "message_start", "message": {"id": "msg_w", "type": "message", "role": "assistant",
                                                                     "content": [], "model": "m", "stop_reason": None}}),
        a_text(0, *HELLO), sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        sse("message_stop", {"type": "message_stop"})),
    "finish_content_filter": lambda: a_ok(a_start(), a_text(0, "I can't help with that."), a_end("refusal")),
    "finish_null": lambda: a_ok(a_start(), a_text(0, *HELLO), a_end(None)),
    "finish_unknown": lambda: a_ok(a_start(), a_text(0, *HELLO), a_end("future_reason")),
    "finish_stop_with_tool_calls": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", *WEATHER),
                                                a_end("end_turn")),
    "finish_length_in_tool_call": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", '{"city": "To'),
                                               a_end("max_tokens")),
    "finish_pause_turn": lambda: a_ok(a_start(), a_text(0, "Searching"), a_end("pause_turn")),
    "finish_model_context_window_exceeded": lambda: a_ok(a_start(), a_text(0, *HELLO),
                                                          a_end("model_context_window_exceeded")),
    "finish_stop_sequence": lambda: a_ok(a_start(), a_text(0, "Hello"), a_end("stop_sequence")),
    "tool_parallel": lambda: a_ok(a_start(), a_text(0, "Checking both."),
                                  a_tool(1, "toolu_written01", "get_weather", *WEATHER),
                                  a_tool(2, "toolu_written02", "get_weather", '{"city": ', '"Paris"}'), a_end("tool_use")),
    "tool_split_arguments": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather",
                                                           "{", '"c', "it", 'y"', ": ", '"T\\', 'u00f6', "ky", 'o\\"', '"}'),
                                         a_end("tool_use")),
    "tool_split_multibyte": lambda: Response(200, _split_inside_multibyte(
        b"".join([a_start(), *a_tool(0, "toolu_written01", "get_weather", '{"city": "東京"}'), *a_end("tool_use")])),
        "text/event-stream; charset=utf-8"),
    "tool_zero_args": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_time"), a_end("tool_use")),
    "reasoning_content": lambda: a_ok(a_start(), a_thinking(0, "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYWxs", "The user ",
                                                          "wants a greeting."), a_text(1, *HELLO), a_end("end_turn")),
    "reasoning_redacted": lambda: a_ok(a_start(), [
        sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "redacted_thinking", "data": base64.b64encode(b"opaque-encrypted-thinking").decode()}}),
        a_block_stop(0)], a_text(1, *HELLO), a_end("end_turn")),
    "error_429": lambda: a_error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    "error_529_overloaded": lambda: a_error(529, "overloaded_error", "Overloaded"),
    "overloaded_mid_stream": lambda: a_ok(a_start(), a_text(0, "Hel")[:2], sse("error", {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
    "overflow_anthropic_wording": lambda: a_error(400, "invalid_request_error",
                                                  "prompt is too long: 208310 tokens > 200000 maximum"),
    "truncated_stream": lambda: a_ok(a_start(), a_text(0, *HELLO)),
    "malformed_line": lambda: a_ok(a_start(), b"event: content_block_start\ndata: {\"type\": \"content_block_st\n\n"),
    "connection_closed": lambda: Response(200, [a_start(), *a_text(0, "Hel")[:2]], "text/event-stream", end="closed"),
}
ANTHROPIC_RESPONSES.update({
    "finish_stop": lambda: a_ok(a_start(), a_text(0, "Hello", "."), a_end("end_turn")),
    "finish_tool_calls": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", *WEATHER), a_end("tool_use")),
    "overflow_mid_stream": lambda: a_ok(a_start(), a_text(0, "Hel")[:2], sse("error", {
        "type": "error", "error": {"type": "invalid_request_error",
                                   "message": "prompt is too long: 208310 tokens > 200000 maximum"}})),
    "structured_output": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "WeatherReport", '{"city": "Tokyo", ',
                                                        '"celsius": 21}'), a_end("tool_use")),
    "agent_structured_output": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "WeatherReport",
                                                              '{"city": "Tokyo", "celsius": 21}'), a_end("tool_use")),
    "agent_tool_loop": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", *WEATHER), a_end("tool_use")),
})
ANTHROPIC_EXTRA_CASES = {
    "finish_pause_turn": "text_basic",
    "finish_model_context_window_exceeded": "text_basic",
    "finish_stop_sequence": "text_basic",
    "reasoning_redacted": "text_basic",
    "error_529_overloaded": "text_basic",
    "overloaded_mid_stream": "text_basic",
    "overflow_anthropic_wording": "text_basic",
}


def _anthropic_agent_answer() -> Response:
    return a_ok(a_start(), a_text(0, "It is 21 C and sunny in Tokyo."), a_end("end_turn"))


def _anthropic_pause_turn_continuation() -> Response:
    return a_ok(a_start(), a_text(0, " done."), a_end("end_turn"))


# -- Ollama NDJSON ------------------------------------------------------------------------------------


def nd(content: str = "", *, done: bool = False, thinking: str | None = None,
       tool_calls: list[dict[str, Any]] | None = None, **final: Any) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    line = {"model": "llama3.2", "created_at": "2026-11-22T05:00:00.000000Z", "message": message, "done": done, **final}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def nd_done(reason: str | None = "stop", prompt: int | None = 26, completion: int | None = 9) -> bytes:
    final: dict[str, Any] = {"total_duration": 412000000, "load_duration": 2100000, "prompt_eval_duration": 61000000,
                             "eval_duration": 301000000}
    if reason is not None:
        final["done_reason"] = reason
    if prompt is not None:
        final["prompt_eval_count"] = prompt
    if completion is not None:
        final["eval_count"] = completion
    return nd(done=True, **final)


def o_ok(*lines: bytes) -> Response:
    return Response(200, list(lines), "application/x-ndjson")


def o_error(status: int, message: str) -> Response:
    return Response(status, [json.dumps({"error": message}).encode()], "application/json; charset=utf-8")


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"function": {"name": name, "arguments": arguments}}


OLLAMA_HELLO = (nd("Hello"), nd(", conformance"), nd(" suite!"))
OLLAMA_RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: o_ok(*OLLAMA_HELLO, nd_done()),
    "text_multibyte_split": lambda: Response(200, _split_inside_multibyte(nd("Grüße, 東京 👋") + nd_done()),
                                             "application/x-ndjson"),
    "usage_missing": lambda: o_ok(*OLLAMA_HELLO, nd_done(prompt=None, completion=None)),
    "usage_prompt_count_missing": lambda: o_ok(*OLLAMA_HELLO, nd_done(prompt=None, completion=9)),
    "finish_stop": lambda: o_ok(*OLLAMA_HELLO, nd_done("stop")),
    "finish_length": lambda: o_ok(nd("Hello"), nd_done("length", completion=3)),
    "finish_null": lambda: o_ok(*OLLAMA_HELLO, nd_done(None)),
    "finish_unknown": lambda: o_ok(*OLLAMA_HELLO, nd_done("unload")),
    "finish_tool_calls": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"})]), nd_done("stop")),
    "finish_stop_with_tool_calls": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"})]),
                                                nd_done("stop")),
    "finish_length_in_tool_call": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "To"})]),
                                               nd_done("length")),
    "tool_single": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"})]), nd_done("stop")),
    "tool_parallel": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"}),
                                                 _call("get_weather", {"city": "Paris"})]), nd_done("stop")),
    "tool_with_ids": lambda: o_ok(nd(tool_calls=[{"id": "call_written01", **_call("get_weather", {"city": "Tokyo"})}]),
                                  nd_done("stop")),
    "tool_zero_args": lambda: o_ok(nd(tool_calls=[_call("get_time", {})]), nd_done("stop")),
    "tool_split_multibyte": lambda: Response(200, _split_inside_multibyte(
        nd(tool_calls=[_call("get_weather", {"city": "東京"})]) + nd_done("stop")), "application/x-ndjson"),
    "tool_result_round_trip": lambda: o_ok(nd("It is 3 C"), nd(" with light snow in Oslo."), nd_done("stop")),
    "reasoning_content": lambda: o_ok(nd(thinking="The user "), nd(thinking="wants a greeting."), *OLLAMA_HELLO,
                                      nd_done()),
    "error_503": lambda: o_error(503, "server busy, please try again.  maximum pending requests exceeded"),
    "error_model_not_found": lambda: o_error(404, "model \"llama3.2\" not found, try pulling it first"),
    "overflow_before_stream": lambda: o_error(400, "the input length exceeds the context length"),
    "overflow_mid_stream": lambda: o_ok(nd("Hel"), b'{"error":"the prompt is longer than the context length"}\n'),
    "truncated_stream": lambda: o_ok(*OLLAMA_HELLO),
    "malformed_line": lambda: o_ok(nd("Hel"), b'{"model":"llama3.2","message":{"role":"assis\n'),
    "connection_closed": lambda: Response(200, [nd("Hel")], "application/x-ndjson", end="closed"),
    "structured_output": lambda: o_ok(nd('{"city": "Tokyo", '), nd('"celsius": 21}'), nd_done("stop")),
}
OLLAMA_RESPONSES.update({
    "agent_structured_output": lambda: o_ok(nd(tool_calls=[_call("WeatherReport", {"city": "Tokyo", "celsius": 21})]),
                                            nd_done("stop")),
    "agent_tool_loop": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"})]), nd_done("stop")),
})
OLLAMA_EXTRA_CASES = {
    "usage_prompt_count_missing": "text_basic",
    "tool_with_ids": "tool_single",
    "error_model_not_found": "text_basic",
}


# -- Bedrock ConverseStream ------------------------------------------------------------------------------


def b_ok(*frames: bytes | list[bytes], end: str = "complete") -> Response:
    chunks: list[bytes] = []
    for frame in frames:
        chunks.extend(frame if isinstance(frame, list) else [frame])
    return Response(200, chunks, "application/vnd.amazon.eventstream", end=end)


def b_text(index: int, *pieces: str) -> list[bytes]:
    return [encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}) for piece in pieces] \
        + [encode_event("contentBlockStop", {"contentBlockIndex": index})]


def b_tool(index: int, tool_id: str, name: str, *pieces: str) -> list[bytes]:
    return [encode_event("contentBlockStart", {"contentBlockIndex": index,
                                               "start": {"toolUse": {"toolUseId": tool_id, "name": name}}})] \
        + [encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
           for piece in pieces] + [encode_event("contentBlockStop", {"contentBlockIndex": index})]


def b_end(stop: str, usage: dict[str, int] | None = None, trace: dict[str, Any] | None = None) -> list[bytes]:
    metadata: dict[str, Any] = {"metrics": {"latencyMs": 412}}
    metadata["usage"] = usage or {"inputTokens": 26, "outputTokens": 9, "totalTokens": 35}
    if trace is not None:
        metadata["trace"] = trace
    return [encode_event("messageStop", {"stopReason": stop}), encode_event("metadata", metadata)]


B_START = encode_event("messageStart", {"role": "assistant"})


def b_error(status: int, message: str) -> Response:
    return Response(status, [json.dumps({"message": message}).encode()], "application/json")


GUARDRAIL_BLOCKED = {"guardrail": {"inputAssessment": {"gr1": {"contentPolicy": {"filters": [
    {"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED", "detected": True}]}}}}}
GUARDRAIL_MASKED = {"guardrail": {"outputAssessments": {"0": [{"sensitiveInformationPolicy": {"piiEntities": [
    {"type": "EMAIL", "match": "a@b.c", "action": "ANONYMIZED", "detected": True}]}}]}}}

BEDROCK_RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: b_ok(B_START, b_text(0, "Hello", ", conformance", " suite!"), b_end("end_turn")),
    "text_multibyte_split": lambda: Response(200, _split_inside_multibyte(
        b"".join([B_START, *b_text(0, "Grüße, 東京 👋"), *b_end("end_turn")])), "application/vnd.amazon.eventstream"),
    "usage_missing": lambda: b_ok(B_START, b_text(0, "Hello"), encode_event("messageStop", {"stopReason": "end_turn"})),
    "finish_stop": lambda: b_ok(B_START, b_text(0, "Hello", "."), b_end("end_turn")),
    "finish_length": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("max_tokens")),
    "finish_content_filter": lambda: b_ok(B_START, b_text(0, "I can"), b_end("content_filtered")),
    "finish_stop_sequence": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("stop_sequence")),
    "finish_model_context_window_exceeded": lambda: b_ok(B_START, b_text(0, "Hello"),
                                                         b_end("model_context_window_exceeded")),
    "finish_malformed_model_output": lambda: b_ok(B_START, b_text(0, "Hel"), b_end("malformed_model_output")),
    "finish_malformed_tool_use": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", '{"ci'),
                                              b_end("malformed_tool_use")),
    "finish_guardrail_intervened": lambda: b_ok(B_START, b_text(0, "Sorry, the model cannot answer this question."),
                                                b_end("guardrail_intervened", trace=GUARDRAIL_BLOCKED)),
    "guardrail_masked": lambda: b_ok(B_START, b_text(0, "Write to {EMAIL}."),
                                     b_end("guardrail_intervened", trace=GUARDRAIL_MASKED)),
    "finish_unknown": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("future_reason")),
    "finish_tool_calls": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
    "finish_stop_with_tool_calls": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER),
                                                b_end("end_turn")),
    "finish_length_in_tool_call": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", '{"city": "To'),
                                               b_end("max_tokens")),
    "tool_single": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
    "tool_parallel": lambda: b_ok(B_START, b_text(0, "Checking both."),
                                  b_tool(1, "tooluse_written01", "get_weather", *WEATHER),
                                  b_tool(2, "tooluse_written02", "get_weather", '{"city": ', '"Paris"}'), b_end("tool_use")),
    "tool_split_arguments": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather",
                                                         "{", '"c', "it", 'y"', ": ", '"T\\', 'u00f6', "ky", 'o\\"', '"}'),
                                         b_end("tool_use")),
    "tool_zero_args": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_time"), b_end("tool_use")),
    "tool_result_round_trip": lambda: b_ok(B_START, b_text(0, "It is 3 C with light snow in Oslo."), b_end("end_turn")),
    "reasoning_content": lambda: b_ok(B_START, [
        encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "The user "}}}),
        encode_event("contentBlockDelta", {"contentBlockIndex": 0,
                                           "delta": {"reasoningContent": {"text": "wants a greeting."}}}),
        encode_event("contentBlockDelta", {"contentBlockIndex": 0,
                                           "delta": {"reasoningContent": {"signature": "EqQBCgIYAhIM1gbcDa9G"}}}),
        encode_event("contentBlockStop", {"contentBlockIndex": 0})], b_text(1, "Hello!"), b_end("end_turn")),
    "error_429": lambda: b_error(429, "Too many requests, please wait before trying again."),
    "error_503": lambda: b_error(503, "Bedrock is unable to process your request."),
    "overflow_before_stream": lambda: b_error(400, "Input is too long for requested model."),
    "overflow_prompt_too_long": lambda: b_error(400, "prompt is too long: 208310 tokens > 200000 maximum"),
    "overflow_mid_stream": lambda: b_ok(B_START, b_text(0, "Hel")[:1], encode_exception(
        "validationException", "Input is too long for requested model.")),
    "throttling_mid_stream": lambda: b_ok(B_START, b_text(0, "Hel")[:1], encode_exception(
        "throttlingException", "Too many tokens, please wait before trying again.")),
    "model_stream_error": lambda: b_ok(B_START, b_text(0, "Hel")[:1], encode_exception(
        "modelStreamErrorException", "The model stream failed.")),
    "truncated_stream": lambda: b_ok(B_START, b_text(0, "Hello")),
    "malformed_line": lambda: b_ok(B_START, encode_event("contentBlockDelta", {"x": 1})[:-4] + b"\x00\x00\x00\x00"),
    "connection_closed": lambda: b_ok(B_START, b_text(0, "Hel")[:1], end="closed"),
    "structured_output": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "WeatherReport",
                                                      '{"city": "Tokyo", ', '"celsius": 21}'), b_end("tool_use")),
}
BEDROCK_RESPONSES.update({
    "tool_split_multibyte": lambda: Response(200, _split_inside_multibyte(b"".join(
        [B_START, *b_tool(0, "tooluse_written01", "get_weather", '{"city": "東京"}'), *b_end("tool_use")])),
        "application/vnd.amazon.eventstream"),
    "agent_structured_output": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "WeatherReport",
                                                            '{"city": "Tokyo", "celsius": 21}'), b_end("tool_use")),
    "agent_tool_loop": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
})
BEDROCK_EXTRA_CASES = {
    "finish_stop_sequence": "text_basic",
    "finish_model_context_window_exceeded": "text_basic",
    "finish_malformed_model_output": "text_basic",
    "finish_malformed_tool_use": "tool_single",
    "finish_guardrail_intervened": "text_basic",
    "guardrail_masked": "text_basic",
    "overflow_prompt_too_long": "text_basic",
    "throttling_mid_stream": "text_basic",
    "model_stream_error": "text_basic",
}


def _bedrock_error_headers(case: str) -> dict[str, str]:
    kinds = {"error_429": "ThrottlingException", "error_503": "ServiceUnavailableException"}
    kind = kinds.get(case, "ValidationException")
    return {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}


# -- OpenAI-shaped chunks: Mistral and Writer ------------------------------------------------------------


def oc(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, int] | None = None,
       model: str = "mistral-large-latest", obj: str = "chat.completion.chunk") -> bytes:
    chunk: dict[str, Any] = {"id": "cmpl-written01", "object": obj, "created": 1763787600, "model": model,
                             "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {json.dumps(chunk, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def oc_usage(prompt: int = 26, completion: int = 9) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def oc_ok(*chunks: bytes, done: bool = True) -> Response:
    return Response(200, [*chunks, *([b"data: [DONE]\n\n"] if done else [])], "text/event-stream")


def oc_call(call_id: str | None, name: str | None, arguments: str, index: int = 0) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call["id"] = call_id
        call["type"] = "function"
    if name:
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def openai_shaped(model: str, final_usage_separate: bool) -> dict[str, Callable[[], Response]]:
    """The cases of a vendor that streams OpenAI-shaped chunks; Mistral puts usage on the finish chunk."""
    def text(*pieces: str, finish: str | None = "stop", usage: bool = True) -> list[bytes]:
        chunks = [oc({"role": "assistant", "content": ""}, model=model)]
        chunks += [oc({"content": piece}, model=model) for piece in pieces]
        if final_usage_separate:
            chunks.append(oc({}, finish, model=model))
            if usage:
                chunks.append(f"data: {json.dumps({'id': 'cmpl-written01', 'object': 'chat.completion.chunk', 'model': model, 'choices': [], 'usage': oc_usage()})}\n\n".encode())
        else:
            chunks.append(oc({}, finish, oc_usage() if usage else None, model=model))
        return chunks

    def tool(*deltas: dict[str, Any], finish: str = "tool_calls") -> list[bytes]:
        chunks = [oc({"role": "assistant", "content": ""}, model=model)] + [oc(delta, model=model) for delta in deltas]
        if final_usage_separate:
            return chunks + [oc({}, finish, model=model),
                             f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'model': model, 'choices': [], 'usage': oc_usage()})}\n\n".encode()]
        return chunks + [oc({}, finish, oc_usage(), model=model)]

    weather = oc_call("call_written01", "get_weather", '{"city": "Tokyo"}')
    return {
        "text_basic": lambda: oc_ok(*text("Hello", ", conformance", " suite!")),
        "usage_missing": lambda: oc_ok(*text("Hello", usage=False)),
        "finish_stop": lambda: oc_ok(*text("Hello", ".")),
        "finish_length": lambda: oc_ok(*text("Hello", finish="length")),
        "finish_content_filter": lambda: oc_ok(*text("I can", finish="content_filter")),
        "finish_null": lambda: oc_ok(*text("Hello", finish=None)),
        "finish_unknown": lambda: oc_ok(*text("Hello", finish="future_reason")),
        "finish_tool_calls": lambda: oc_ok(*tool(weather)),
        "finish_stop_with_tool_calls": lambda: oc_ok(*tool(weather, finish="stop")),
        "finish_length_in_tool_call": lambda: oc_ok(*tool(oc_call("call_written01", "get_weather", '{"city": "To'),
                                                          finish="length")),
        "tool_single": lambda: oc_ok(*tool(weather)),
        "tool_parallel": lambda: oc_ok(*tool({"tool_calls": [
            {"index": 0, "id": "call_written01", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Tokyo"}'}},
            {"index": 1, "id": "call_written02", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]})),
        "tool_zero_args": lambda: oc_ok(*tool(oc_call("call_written01", "get_time", "{}"))),
        "tool_result_round_trip": lambda: oc_ok(*text("It is 3 C with light snow in Oslo.")),
        "error_429": lambda: Response(429, [json.dumps({"object": "error", "message": "Requests rate limit exceeded",
                                                        "type": "rate_limited", "code": "1300"}).encode()],
                                      "application/json"),
        "error_503": lambda: Response(503, [b'{"message": "Service unavailable"}'], "application/json"),
        "overflow_before_stream": lambda: Response(400, [json.dumps({"object": "error", "type": "invalid_request_error",
            "message": "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
            "code": "3051"}).encode()], "application/json"),
        "truncated_stream": lambda: oc_ok(*text("Hello", finish=None, usage=False), done=False),
        "malformed_line": lambda: oc_ok(oc({"role": "assistant", "content": "Hel"}, model=model), b"data: {\"id\": \"cmpl\n\n"),
        "connection_closed": lambda: Response(200, [oc({"role": "assistant", "content": "Hel"}, model=model)],
                                              "text/event-stream", end="closed"),
        "structured_output": lambda: oc_ok(*text('{"city": "Tokyo", ', '"celsius": 21}')),
        "agent_structured_output": lambda: oc_ok(*tool(oc_call("call_written01", "WeatherReport",
                                                               '{"city": "Tokyo", "celsius": 21}'))),
        "agent_tool_loop": lambda: oc_ok(*tool(weather)),
        "text_multibyte_split": lambda: Response(200, _split_inside_multibyte(b"".join(text("Grüße, 東京 👋"))
                                                                              + b"data: [DONE]\n\n"), "text/event-stream"),
        "tool_split_multibyte": lambda: Response(200, _split_inside_multibyte(b"".join(tool(
            oc_call("call_written01", "get_weather", '{"city": "東京"}'))) + b"data: [DONE]\n\n"), "text/event-stream"),
        "overflow_mid_stream": lambda: oc_ok(oc({"role": "assistant", "content": "Hel"}, model=model), (
            "data: " + json.dumps({"error": {"message": "Prompt contains 40000 tokens, too large for model with 32768 "
                                             "maximum context length", "type": "invalid_request_error"}}) + "\n\n").encode(),
            done=False),
    }


MISTRAL_RESPONSES = {
    **openai_shaped("mistral-large-latest", final_usage_separate=False),
    "finish_model_length": lambda: oc_ok(oc({"role": "assistant", "content": "Hello"}),
                                         oc({}, "model_length", oc_usage())),
    "finish_error": lambda: oc_ok(oc({"role": "assistant", "content": "Hel"}), oc({}, "error", oc_usage())),
}
MISTRAL_EXTRA_CASES = {"finish_model_length": "text_basic", "finish_error": "text_basic"}
WRITER_RESPONSES = {
    **openai_shaped("palmyra-x5", final_usage_separate=True),
    "tool_split_arguments": lambda: oc_ok(*[oc({"role": "assistant", "content": ""}, model="palmyra-x5")], *[
        oc(oc_call("call_written01" if number == 0 else None, "get_weather" if number == 0 else None, piece),
           model="palmyra-x5")
        for number, piece in enumerate(("{", '"c', "it", 'y"', ": ", '"T\\', "u00f6", "ky", 'o\\"', '"}'))],
        oc({}, "tool_calls", model="palmyra-x5"),
        f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'model': 'palmyra-x5', 'choices': [], 'usage': oc_usage()})}\n\n".encode()),
}


def _openai_shaped_agent_answer() -> Response:
    return oc_ok(oc({"role": "assistant", "content": "It is 21 C and sunny in Tokyo."}), oc({}, "stop", oc_usage()))


def _mistral(case: Case) -> Any:
    from providers.mistral import MistralModel

    params = dict(case.params)
    return MistralModel("written", model_id="smollm2", max_tokens=params.pop("max_tokens", None),
                        temperature=params.pop("temperature", None))


def _writer(case: Case) -> Any:
    from providers.writer import WriterModel

    params = dict(case.params)
    return WriterModel({"api_key": "written"}, model_id="smollm2", max_tokens=params.pop("max_tokens", None),
                       temperature=params.pop("temperature", None))


# -- Llama API -------------------------------------------------------------------------------------------------


def ll(event_type: str, delta: dict[str, Any] | None = None, stop: str | None = None,
       metrics: list[dict[str, Any]] | None = None) -> bytes:
    event: dict[str, Any] = {"event_type": event_type, "delta": delta or {"type": "text", "text": ""}}
    if stop is not None:
        event["stop_reason"] = stop
    if metrics is not None:
        event["metrics"] = metrics
    return f"data: {json.dumps({'id': 'chat-written01', 'event': event}, separators=(',', ':'))}\n\n".encode()


LL_METRICS = [{"metric": "num_completion_tokens", "value": 9, "unit": "tokens"},
              {"metric": "num_prompt_tokens", "value": 26.0, "unit": "tokens"},
              {"metric": "num_total_tokens", "value": 35, "unit": "tokens"}]


def ll_text(*pieces: str, stop: str | None = "stop", metrics: bool = True) -> Response:
    chunks = [ll("start")] + [ll("progress", {"type": "text", "text": piece}) for piece in pieces]
    chunks.append(ll("complete", stop=stop))
    if metrics:
        chunks.append(ll("metrics", metrics=LL_METRICS))
    return Response(200, chunks, "text/event-stream")


def ll_tool(*deltas: dict[str, Any], stop: str = "tool_calls") -> Response:
    chunks = [ll("start")] + [ll("progress", delta) for delta in deltas]
    return Response(200, [*chunks, ll("complete", stop=stop), ll("metrics", metrics=LL_METRICS)], "text/event-stream")


def ll_call(call_id: str | None, name: str | None, arguments: str | None) -> dict[str, Any]:
    delta: dict[str, Any] = {"type": "tool_call", "function": {}}
    if call_id:
        delta["id"] = call_id
    if name:
        delta["function"]["name"] = name
    if arguments is not None:
        delta["function"]["arguments"] = arguments
    return delta


LLAMA_RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: ll_text("Hello", ", conformance", " suite!"),
    "usage_missing": lambda: ll_text("Hello", metrics=False),
    "finish_stop": lambda: ll_text("Hello", "."),
    "finish_length": lambda: ll_text("Hello", stop="length"),
    "finish_null": lambda: ll_text("Hello", stop=None),
    "finish_unknown": lambda: ll_text("Hello", stop="future_reason"),
    "finish_tool_calls": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "Tokyo"}')),
    "finish_stop_with_tool_calls": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "Tokyo"}'),
                                                   stop="stop"),
    "finish_length_in_tool_call": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "To'),
                                                  stop="length"),
    "tool_single": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": '),
                                   ll_call(None, None, '"Tokyo"}')),
    "tool_parallel": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "Tokyo"}'),
                                     ll_call("call_written02", "get_weather", '{"city": "Paris"}')),
    "tool_zero_args": lambda: ll_tool(ll_call("call_written01", "get_time", "{}")),
    "tool_result_round_trip": lambda: ll_text("It is 3 C with light snow in Oslo."),
    "error_429": lambda: Response(429, [b'{"title": "Too many requests", "detail": "Rate limit exceeded", "status": 429}'],
                                  "application/json"),
    "overflow_before_stream": lambda: Response(400, [b'{"title": "Bad request", "detail": "This model\'s maximum context '
                                                     b'length is 128000 tokens", "status": 400}'], "application/json"),
    "truncated_stream": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"})],
                                         "text/event-stream"),
    "malformed_line": lambda: Response(200, [ll("start"), b"data: {\"event\": {\"event_ty\n\n"], "text/event-stream"),
    "connection_closed": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"})],
                                          "text/event-stream", end="closed"),
    "structured_output": lambda: ll_tool(ll_call("call_written01", "WeatherReport", '{"city": "Tokyo", "celsius": 21}')),
    "agent_structured_output": lambda: ll_tool(ll_call("call_written01", "WeatherReport",
                                                       '{"city": "Tokyo", "celsius": 21}')),
    "agent_tool_loop": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "Tokyo"}')),
    "text_multibyte_split": lambda: Response(200, _split_inside_multibyte(b"".join(ll_text("Grüße, 東京 👋").chunks)),
                                             "text/event-stream"),
    "tool_split_arguments": lambda: ll_tool(ll_call("call_written01", "get_weather", "{"), *[
        ll_call(None, None, piece) for piece in ('"c', "it", 'y"', ": ", '"T\\', "u00f6", "ky", 'o\\"', '"}')]),
    "tool_split_multibyte": lambda: Response(200, _split_inside_multibyte(b"".join(ll_tool(
        ll_call("call_written01", "get_weather", '{"city": "東京"}')).chunks)), "text/event-stream"),
    "overflow_mid_stream": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"}),
                                                  b'data: {"error": {"message": "This model\'s maximum context length is '
                                                  b'128000 tokens"}}\n\n'], "text/event-stream"),
}


def _llama_agent_answer() -> Response:
    return ll_text("It is 21 C and sunny in Tokyo.")


def _llama(case: Case) -> Any:
    from providers.llamaapi import LlamaAPIModel

    params = dict(case.params)
    return LlamaAPIModel(client_args={"api_key": "written"}, model_id="smollm2",
                         max_completion_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))


# -- helpers -----------------------------------------------------------------------------------------------


def _split_inside_multibyte(body: bytes) -> list[bytes]:
    """Cut the body right after the first byte of every multi-byte character: boundaries a reader must join."""
    chunks, start = [], 0
    for position, byte in enumerate(body):
        if byte >= 0xC0 and position > start:  # a lead byte: cut after it, inside the character
            chunks.append(body[start:position + 1])
            start = position + 1
    chunks.append(body[start:])
    return [chunk for chunk in chunks if chunk]


WRITERS: dict[str, Any] = {
    "anthropic": dict(
        reference="https://docs.anthropic.com/en/api/messages-streaming (event types, deltas, stop_reason values) "
                  "and https://docs.anthropic.com/en/api/errors (error shapes, 429, 529 overloaded_error)",
        path="/v1/messages", model=_anthropic, responses=ANTHROPIC_RESPONSES, extra=ANTHROPIC_EXTRA_CASES,
        continuation={"finish_pause_turn": _anthropic_pause_turn_continuation, "agent_tool_loop": _anthropic_agent_answer},
    ),
    "ollama": dict(
        reference="https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion (streamed NDJSON, "
                  "done_reason, prompt_eval_count/eval_count, tool_calls with object arguments, {\"error\"} bodies)",
        path="/api/chat", model=_ollama, responses=OLLAMA_RESPONSES, extra=OLLAMA_EXTRA_CASES,
        continuation={"agent_tool_loop": lambda: o_ok(nd("It is 21 C and sunny in Tokyo."), nd_done("stop"))},
    ),
    "mistral": dict(
        reference="https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post (streamed "
                  "chunks, finish_reason stop/length/model_length/error/tool_calls, usage on the last chunk)",
        path="/v1/chat/completions", model=_mistral, responses=MISTRAL_RESPONSES, extra=MISTRAL_EXTRA_CASES,
        continuation={"agent_tool_loop": _openai_shaped_agent_answer},
    ),
    "writer": dict(
        reference="https://dev.writer.com/api-reference/completion-api/chat-completion (streamed chat.completion.chunk "
                  "objects, finish_reason, stream_options.include_usage)",
        path="/v1/chat", model=_writer, responses=WRITER_RESPONSES, extra={},
        continuation={"agent_tool_loop": _openai_shaped_agent_answer},
    ),
    "llama-api": dict(
        reference="llama-api-client 0.6.0 CreateChatCompletionResponseStreamChunk (event_type start/progress/complete/"
                  "metrics, text and tool_call deltas, stop_reason, num_*_tokens metrics)",
        path="/v1/chat/completions", model=_llama, responses=LLAMA_RESPONSES, extra={},
        continuation={"agent_tool_loop": _llama_agent_answer},
    ),
    "bedrock-converse": dict(
        reference="https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html (events, "
                  "StopReason enum, exceptions) and the AWS event-stream framing of botocore.eventstream",
        path="/model/smollm2/converse-stream", model=_bedrock,
        responses=BEDROCK_RESPONSES, extra=BEDROCK_EXTRA_CASES,
        continuation={"agent_tool_loop": lambda: b_ok(B_START, b_text(0, "It is 21 C and sunny in Tokyo."), b_end("end_turn"))},
    ),
}


def write_wire(wire: str) -> list[Path]:
    spec = WRITERS[wire]
    written = []
    for case_name, make_response in spec["responses"].items():
        base_case = CASES[spec["extra"].get(case_name, case_name)]
        model = spec["model"](base_case)
        kwargs = base_case.stream_kwargs()
        body = model.format_request(kwargs["messages"], kwargs["tool_specs"], kwargs["system_prompt"],
                                    kwargs.get("tool_choice"), kwargs.get("system_prompt_content"))
        if wire == "bedrock-converse":
            body = json.loads(json.dumps(body))
        responses = [make_response()]
        if case_name in spec["continuation"]:
            responses.append(spec["continuation"][case_name]())
        interactions = []
        for response in responses:
            headers = {"content-type": response.content_type}
            if wire == "bedrock-converse" and response.status != 200:
                headers.update(_bedrock_error_headers(case_name))
            interactions.append(Interaction(
                RecordedRequest("POST", spec["path"], {"content-type": "application/json"}, body),
                RecordedResponse(response.status, headers,
                                 [Chunk(number, data) for number, data in enumerate(response.chunks)], response.end),
            ))
        source = {"kind": "written", "reference": spec["reference"], "written_at": WRITTEN_AT,
                  "note": f"written by tests/wires/write_cassettes.py: {_note(case_name)}"}
        # The Agent structured-output check picks cassettes by the path they answer: ours force a tool.
        variant = "written-tool" if case_name == "agent_structured_output" else "written"
        path = RECORDINGS / wire / f"{case_name}.{variant}.json"
        write_cassette_atomically(Cassette(wire, case_name, source, interactions), path)
        written.append(path)
    return written


def _note(case: str) -> str:
    return case.replace("_", " ")


def main(argv: Iterable[str]) -> None:
    wires = list(argv) or list(WRITERS)
    for wire in wires:
        paths = write_wire(wire)
        print(f"{wire}: {len(paths)} written cassettes in {RECORDINGS / wire}")


if __name__ == "__main__":
    main(sys.argv[1:])
