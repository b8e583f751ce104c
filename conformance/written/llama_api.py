"""The written cassettes of the llama-api wire: Meta's Llama API stream, which no server here speaks.

SSE events with `event_type` start/progress/complete/metrics, text and tool-call deltas, `stop_reason`
and token metrics, as the llama-api-client types describe them; the request stored is the one the
reference provider sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import JSON, SSE, Response, WrittenWire, limits, split_inside_multibyte, sse


def _reference_model(case: Case) -> Any:
    from providers.llamaapi import LlamaAPIModel

    max_tokens, temperature = limits(case)
    return LlamaAPIModel(client_args={"api_key": "written"}, model_id="smollm2", max_completion_tokens=max_tokens,
                         temperature=temperature)


def ll(event_type: str, delta: dict[str, Any] | None = None, stop: str | None = None,
       metrics: list[dict[str, Any]] | None = None) -> bytes:
    event: dict[str, Any] = {"event_type": event_type, "delta": delta or {"type": "text", "text": ""}}
    if stop is not None:
        event["stop_reason"] = stop
    if metrics is not None:
        event["metrics"] = metrics
    # This stream escapes non-ASCII characters (`\u00fc`), unlike the other wires' JSON.
    return sse({"id": "chat-written01", "event": event}, compact=True, ascii_only=True)


LL_METRICS = [{"metric": "num_completion_tokens", "value": 9, "unit": "tokens"},
              {"metric": "num_prompt_tokens", "value": 26.0, "unit": "tokens"},
              {"metric": "num_total_tokens", "value": 35, "unit": "tokens"}]


def ll_text(*pieces: str, stop: str | None = "stop", metrics: bool = True) -> Response:
    chunks = [ll("start")] + [ll("progress", {"type": "text", "text": piece}) for piece in pieces]
    chunks.append(ll("complete", stop=stop))
    if metrics:
        chunks.append(ll("metrics", metrics=LL_METRICS))
    return Response(200, chunks, SSE)


def ll_tool(*deltas: dict[str, Any], stop: str = "tool_calls") -> Response:
    chunks = [ll("start")] + [ll("progress", delta) for delta in deltas]
    return Response(200, [*chunks, ll("complete", stop=stop), ll("metrics", metrics=LL_METRICS)], SSE)


def ll_call(call_id: str | None, name: str | None, arguments: str | None) -> dict[str, Any]:
    delta: dict[str, Any] = {"type": "tool_call", "function": {}}
    if call_id:
        delta["id"] = call_id
    if name:
        delta["function"]["name"] = name
    if arguments is not None:
        delta["function"]["arguments"] = arguments
    return delta


RESPONSES: dict[str, Callable[[], Response]] = {
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
                                  JSON),
    "overflow_before_stream": lambda: Response(400, [b'{"title": "Bad request", "detail": "This model\'s maximum context '
                                                     b'length is 128000 tokens", "status": 400}'], JSON),
    "truncated_stream": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"})],
                                         SSE),
    "malformed_line": lambda: Response(200, [ll("start"), b"data: {\"event\": {\"event_ty\n\n"], SSE),
    "connection_closed": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"})],
                                          SSE, end="closed"),
    "structured_output": lambda: ll_tool(ll_call("call_written01", "WeatherReport", '{"city": "Tokyo", "celsius": 21}')),
    "agent_structured_output": lambda: ll_tool(ll_call("call_written01", "WeatherReport",
                                                       '{"city": "Tokyo", "celsius": 21}')),
    "agent_tool_loop": lambda: ll_tool(ll_call("call_written01", "get_weather", '{"city": "Tokyo"}')),
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(b"".join(ll_text("Grüße, 東京 👋").chunks)),
                                             SSE),
    "tool_split_arguments": lambda: ll_tool(ll_call("call_written01", "get_weather", "{"), *[
        ll_call(None, None, piece) for piece in ('"c', "it", 'y"', ": ", '"T\\', "u00f6", "ky", 'o\\"', '"}')]),
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(b"".join(ll_tool(
        ll_call("call_written01", "get_weather", '{"city": "東京"}')).chunks)), SSE),
    "overflow_mid_stream": lambda: Response(200, [ll("start"), ll("progress", {"type": "text", "text": "Hel"}),
                                                  b'data: {"error": {"message": "This model\'s maximum context length is '
                                                  b'128000 tokens"}}\n\n'], SSE),
}


def _agent_answer() -> Response:
    return ll_text("It is 21 C and sunny in Tokyo.")


REFERENCE = (
    "llama-api-client 0.6.0 CreateChatCompletionResponseStreamChunk (event_type start/progress/complete/"
    "metrics, text and tool_call deltas, stop_reason, num_*_tokens metrics)"
)

WRITTEN = WrittenWire(
    wire="llama-api", reference=REFERENCE, path="/v1/chat/completions", reference_model=_reference_model,
    responses=RESPONSES, continuations={"agent_tool_loop": _agent_answer},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
