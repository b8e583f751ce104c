"""The written cassettes of the anthropic wire: Messages API streams the local servers never send.

The local servers' Anthropic endpoint never produces thinking blocks, `pause_turn`, `refusal` or
`overloaded_error`; these cassettes follow the published event stream instead. Each response below
reads as the wire events, in order; the request stored is the one the reference provider sends.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import SSE, SSE_UTF8, Response, WrittenWire, split_inside_multibyte, sse


def _reference_model(case: Case) -> Any:
    from providers.anthropic import AnthropicModel

    params = dict(case.params)
    return AnthropicModel(
        client_args={"base_url": "http://127.0.0.1"}, model_id="smollm2", max_tokens=params.pop("max_tokens", 256),
        params=params or None,
    )


def event(name: str, data: Any) -> bytes:
    return sse(data, event=name, compact=True)


def a_start(input_tokens: int = 14) -> bytes:
    return event("message_start", {"type": "message_start", "message": {
        "id": "msg_written01", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})


def a_block(event_type: str, index: int, field: str, value: dict[str, Any]) -> bytes:
    """A `content_block_start` (field `content_block`) or `content_block_delta` (field `delta`) event."""
    return event(event_type, {"type": event_type, "index": index, field: value})


def a_start_block(index: int, block: dict[str, Any]) -> bytes:
    return a_block("content_block_start", index, "content_block", block)


def a_delta(index: int, delta: dict[str, Any]) -> bytes:
    return a_block("content_block_delta", index, "delta", delta)


def a_text(index: int, *pieces: str) -> list[bytes]:
    chunks = [a_start_block(index, {"type": "text", "text": ""})]
    chunks += [a_delta(index, {"type": "text_delta", "text": piece}) for piece in pieces]
    return chunks + [a_block_stop(index)]


def a_tool(index: int, tool_id: str, name: str, *pieces: str, stop: bool = True) -> list[bytes]:
    chunks = [a_start_block(index, {"type": "tool_use", "id": tool_id, "name": name, "input": {}})]
    # The stream opens every tool block with an empty partial_json before the arguments.
    chunks += [a_delta(index, {"type": "input_json_delta", "partial_json": piece}) for piece in ("", *pieces)]
    return chunks + ([a_block_stop(index)] if stop else [])


def a_thinking(index: int, signature: str, *pieces: str) -> list[bytes]:
    chunks = [a_start_block(index, {"type": "thinking", "thinking": "", "signature": ""})]
    chunks += [a_delta(index, {"type": "thinking_delta", "thinking": piece}) for piece in pieces]
    chunks.append(a_delta(index, {"type": "signature_delta", "signature": signature}))
    return chunks + [a_block_stop(index)]


def a_block_stop(index: int) -> bytes:
    return event("content_block_stop", {"type": "content_block_stop", "index": index})


def a_end(stop_reason: str | None, output_tokens: int = 9, *, usage: dict[str, Any] | None = None) -> list[bytes]:
    return [
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                "usage": usage if usage is not None else {"output_tokens": output_tokens}}),
        event("message_stop", {"type": "message_stop"}),
    ]


def a_ok(*parts: bytes | list[bytes]) -> Response:
    return Response.ok(SSE_UTF8, *parts)


def a_error(status: int, kind: str, message: str) -> Response:
    return Response.error(status, {"type": "error", "error": {"type": kind, "message": message},
                                   "request_id": "req_written01"})


HELLO = ("Hello", ", conformance", " suite!")
WEATHER = ('{"city": ', '"Tokyo"}')

RESPONSES: dict[str, Callable[[], Response]] = {
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(
        b"".join([a_start(), *a_text(0, "Grüße, 東京 👋"), *a_end("end_turn")])), SSE_UTF8),
    "usage_cached": lambda: a_ok(
        event("message_start", {"type": "message_start", "message": {
            "id": "msg_written01", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
            "stop_reason": None, "stop_sequence": None, "usage": {
                "input_tokens": 26, "cache_creation_input_tokens": 263, "cache_read_input_tokens": 1024,
                "output_tokens": 1}}}),
        a_text(0, *HELLO), a_end("end_turn", usage={"output_tokens": 9})),
    "usage_missing": lambda: a_ok(
        event("message_start", {"type": "message_start", "message": {
            "id": "msg_w", "type": "message", "role": "assistant", "content": [], "model": "m", "stop_reason": None}}),
        a_text(0, *HELLO), event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        event("message_stop", {"type": "message_stop"})),
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
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(
        b"".join([a_start(), *a_tool(0, "toolu_written01", "get_weather", '{"city": "東京"}'), *a_end("tool_use")])),
        SSE_UTF8),
    "tool_zero_args": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_time"), a_end("tool_use")),
    "reasoning_content": lambda: a_ok(a_start(), a_thinking(0, "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYWxs", "The user ",
                                                          "wants a greeting."), a_text(1, *HELLO), a_end("end_turn")),
    "reasoning_redacted": lambda: a_ok(a_start(), a_start_block(0, {
        "type": "redacted_thinking", "data": base64.b64encode(b"opaque-encrypted-thinking").decode()}),
        a_block_stop(0), a_text(1, *HELLO), a_end("end_turn")),
    "error_429": lambda: a_error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    "error_529_overloaded": lambda: a_error(529, "overloaded_error", "Overloaded"),
    "overloaded_mid_stream": lambda: a_ok(a_start(), a_text(0, "Hel")[:2], event("error", {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
    "overflow_anthropic_wording": lambda: a_error(400, "invalid_request_error",
                                                  "prompt is too long: 208310 tokens > 200000 maximum"),
    "truncated_stream": lambda: a_ok(a_start(), a_text(0, *HELLO)),
    "malformed_line": lambda: a_ok(a_start(), b"event: content_block_start\ndata: {\"type\": \"content_block_st\n\n"),
    "connection_closed": lambda: Response(200, [a_start(), *a_text(0, "Hel")[:2]], SSE, end="closed"),
}
RESPONSES.update({
    "finish_stop": lambda: a_ok(a_start(), a_text(0, "Hello", "."), a_end("end_turn")),
    "finish_tool_calls": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", *WEATHER), a_end("tool_use")),
    "overflow_mid_stream": lambda: a_ok(a_start(), a_text(0, "Hel")[:2], event("error", {
        "type": "error", "error": {"type": "invalid_request_error",
                                   "message": "prompt is too long: 208310 tokens > 200000 maximum"}})),
    "structured_output": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "WeatherReport", '{"city": "Tokyo", ',
                                                        '"celsius": 21}'), a_end("tool_use")),
    "agent_structured_output": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "WeatherReport",
                                                              '{"city": "Tokyo", "celsius": 21}'), a_end("tool_use")),
    "agent_tool_loop": lambda: a_ok(a_start(), a_tool(0, "toolu_written01", "get_weather", *WEATHER), a_end("tool_use")),
})
EXTRA_CASES = {
    "finish_pause_turn": "text_basic",
    "finish_model_context_window_exceeded": "text_basic",
    "finish_stop_sequence": "text_basic",
    "reasoning_redacted": "text_basic",
    "error_529_overloaded": "text_basic",
    "overloaded_mid_stream": "text_basic",
    "overflow_anthropic_wording": "text_basic",
}


def _agent_answer() -> Response:
    return a_ok(a_start(), a_text(0, "It is 21 C and sunny in Tokyo."), a_end("end_turn"))


def _pause_turn_continuation() -> Response:
    return a_ok(a_start(), a_text(0, " done."), a_end("end_turn"))


REFERENCE = (
    "https://docs.anthropic.com/en/api/messages-streaming (event types, deltas, stop_reason values) "
    "and https://docs.anthropic.com/en/api/errors (error shapes, 429, 529 overloaded_error)"
)

WRITTEN = WrittenWire(
    wire="anthropic", reference=REFERENCE, path="/v1/messages", reference_model=_reference_model,
    responses=RESPONSES, extra_cases=EXTRA_CASES,
    continuations={"finish_pause_turn": _pause_turn_continuation, "agent_tool_loop": _agent_answer},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
