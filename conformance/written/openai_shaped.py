"""The response table shared by vendors that stream OpenAI-shaped chunks: Mistral and Writer.

Both send `chat.completion.chunk` objects with `[DONE]`, but the chunk carries no `logprobs`, the JSON
is compact, and the tool-call delta lists `function` before `id`; Mistral puts usage on the finish
chunk, Writer sends it in a chunk of its own (without `created`). Each wire's module adds its own cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.written.builders import DONE, SSE, Response, chunk, split_inside_multibyte, sse, usage, usage_chunk

MISTRAL_MODEL = "mistral-large-latest"


def oc(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, int] | None = None,
       model: str = MISTRAL_MODEL) -> bytes:
    extra = {"usage": usage} if usage is not None else {}
    return sse(chunk(delta, finish, id="cmpl-written01", created=1763787600, model=model, logprobs=False, **extra),
               compact=True)


def oc_usage() -> dict[str, int]:
    return usage(26, 9)


def oc_ok(*chunks: bytes, done: bool = True) -> Response:
    return Response.ok(SSE, *chunks, *([DONE] if done else []))


def oc_call(call_id: str | None, name: str | None, arguments: str, index: int = 0) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call["id"] = call_id
        call["type"] = "function"
    if name:
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def text(model: str, usage_separate: bool, *pieces: str, finish: str | None = "stop",
         with_usage: bool = True) -> list[bytes]:
    chunks = [oc({"role": "assistant", "content": ""}, model=model)]
    chunks += [oc({"content": piece}, model=model) for piece in pieces]
    if not usage_separate:
        return chunks + [oc({}, finish, oc_usage() if with_usage else None, model=model)]
    chunks.append(oc({}, finish, model=model))
    if with_usage:
        chunks.append(sse(usage_chunk(26, 9, id="cmpl-written01", created=None, model=model)))
    return chunks


def tool(model: str, usage_separate: bool, *deltas: dict[str, Any], finish: str = "tool_calls") -> list[bytes]:
    chunks = [oc({"role": "assistant", "content": ""}, model=model)] + [oc(delta, model=model) for delta in deltas]
    if not usage_separate:
        return chunks + [oc({}, finish, oc_usage(), model=model)]
    return chunks + [oc({}, finish, model=model), sse(usage_chunk(26, 9, id="c", created=None, model=model))]


def agent_answer() -> Response:
    """The second turn of the Agent loop; both vendors' cassettes carry this Mistral-shaped chunk."""
    return oc_ok(oc({"role": "assistant", "content": "It is 21 C and sunny in Tokyo."}), oc({}, "stop", oc_usage()))


def openai_shaped(model: str, usage_separate: bool) -> dict[str, Callable[[], Response]]:
    """The suite's cases as this vendor would stream them."""
    def texts(*pieces: str, **options: Any) -> list[bytes]:
        return text(model, usage_separate, *pieces, **options)

    def tools(*deltas: dict[str, Any], **options: Any) -> list[bytes]:
        return tool(model, usage_separate, *deltas, **options)

    weather = oc_call("call_written01", "get_weather", '{"city": "Tokyo"}')
    started = oc({"role": "assistant", "content": "Hel"}, model=model)
    return {
        "text_basic": lambda: oc_ok(*texts("Hello", ", conformance", " suite!")),
        "usage_missing": lambda: oc_ok(*texts("Hello", with_usage=False)),
        "finish_stop": lambda: oc_ok(*texts("Hello", ".")),
        "finish_length": lambda: oc_ok(*texts("Hello", finish="length")),
        "finish_content_filter": lambda: oc_ok(*texts("I can", finish="content_filter")),
        "finish_null": lambda: oc_ok(*texts("Hello", finish=None)),
        "finish_unknown": lambda: oc_ok(*texts("Hello", finish="future_reason")),
        "finish_tool_calls": lambda: oc_ok(*tools(weather)),
        "finish_stop_with_tool_calls": lambda: oc_ok(*tools(weather, finish="stop")),
        "finish_length_in_tool_call": lambda: oc_ok(*tools(oc_call("call_written01", "get_weather", '{"city": "To'),
                                                           finish="length")),
        "tool_single": lambda: oc_ok(*tools(weather)),
        "tool_parallel": lambda: oc_ok(*tools({"tool_calls": [
            {"index": 0, "id": "call_written01", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Tokyo"}'}},
            {"index": 1, "id": "call_written02", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]})),
        "tool_zero_args": lambda: oc_ok(*tools(oc_call("call_written01", "get_time", "{}"))),
        "tool_result_round_trip": lambda: oc_ok(*texts("It is 3 C with light snow in Oslo.")),
        "error_429": lambda: Response.error(429, {"object": "error", "message": "Requests rate limit exceeded",
                                                  "type": "rate_limited", "code": "1300"}),
        "error_503": lambda: Response.error(503, {"message": "Service unavailable"}),
        "overflow_before_stream": lambda: Response.error(400, {
            "object": "error", "type": "invalid_request_error",
            "message": "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
            "code": "3051"}),
        "truncated_stream": lambda: oc_ok(*texts("Hello", finish=None, with_usage=False), done=False),
        "malformed_line": lambda: oc_ok(started, b"data: {\"id\": \"cmpl\n\n"),
        "connection_closed": lambda: Response(200, [started], SSE, end="closed"),
        "structured_output": lambda: oc_ok(*texts('{"city": "Tokyo", ', '"celsius": 21}')),
        "agent_structured_output": lambda: oc_ok(*tools(oc_call("call_written01", "WeatherReport",
                                                                '{"city": "Tokyo", "celsius": 21}'))),
        "agent_tool_loop": lambda: oc_ok(*tools(weather)),
        "text_multibyte_split": lambda: Response(200, split_inside_multibyte(b"".join(texts("Grüße, 東京 👋")) + DONE), SSE),
        "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(b"".join(tools(
            oc_call("call_written01", "get_weather", '{"city": "東京"}'))) + DONE), SSE),
        "overflow_mid_stream": lambda: oc_ok(started, sse({"error": {
            "message": "Prompt contains 40000 tokens, too large for model with 32768 maximum context length",
            "type": "invalid_request_error"}}), done=False),
    }
