"""The written cassettes of the gemini wire: `streamGenerateContent?alt=sse`, which no server here speaks.

Each response below reads as the SSE events, in order: every event a whole GenerateContentResponse
(`candidates[0].content.parts`, `finishReason` on the last, `usageMetadata`), framed `data: ...` with
CRLF line ends as the API sends them. Function calls are whole parts whose id is absent or empty
(Gemini 2.x) or short (Gemini 3); thought signatures are opaque base64. The request stored is the
reference provider's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import JSON, SSE, Response, WrittenWire, dumps, limits, split_inside_multibyte

# Opaque to clients; Gemini returns base64 text that must come back unchanged.
SIGNATURE = "CiQBVKhc7wXQm3kR9y1Gl7CwT3kqH0n6g0Zx0m0v2D7yZ2Q1c8E="
USAGE = {"promptTokenCount": 11, "candidatesTokenCount": 7, "totalTokenCount": 18,
         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 11}]}


def _reference_model(case: Case) -> Any:
    from providers.gemini import GeminiModel

    max_tokens, temperature = limits(case)
    params = {key: value for key, value in (("max_output_tokens", max_tokens), ("temperature", temperature))
              if value is not None}
    return GeminiModel(client_args={"http_options": {"base_url": "http://127.0.0.1"}}, model_id="smollm2",
                       params=params)


def g(*parts: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None,
      **candidate: Any) -> bytes:
    """One SSE event holding one GenerateContentResponse with one candidate."""
    body: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}} if parts else {}
    body.update(candidate)
    if finish is not None:
        body["finishReason"] = finish
    body["index"] = 0
    return g_event({"candidates": [body], **({"usageMetadata": usage} if usage else {})})


def g_event(payload: dict[str, Any]) -> bytes:
    return f"data: {dumps({**payload, 'modelVersion': 'gemini-2.5-flash', 'responseId': 'written01'})}\r\n\r\n".encode()


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"text": value, **extra}


def call(name: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args}, **extra}


def with_id(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"functionCall": {"id": call_id, "name": name, "args": args}}


def g_ok(*events: bytes | list[bytes]) -> Response:
    return Response.ok(SSE, *events)


def g_error(status: int, state: str, message: str) -> Response:
    return Response.error(status, {"error": {"code": status, "message": message, "status": state}},
                          f"{JSON}; charset=UTF-8")


def usage_of(prompt: int = 11, answer: int = 7, **more: int) -> dict[str, Any]:
    return {**USAGE, "promptTokenCount": prompt, "candidatesTokenCount": answer,
            "totalTokenCount": prompt + answer + more.get("thoughtsTokenCount", 0), **more}


HELLO = [g(text("Hello")), g(text(", conformance")), g(text(" suite!"), finish="STOP", usage=USAGE)]
TOKYO = call("get_weather", {"city": "Tokyo"})
OVERFLOW = "The input token count (1048677) exceeds the maximum number of tokens allowed (1048576)."
SAFETY_RATINGS = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]


def _calls(*parts: dict[str, Any], finish: str = "STOP") -> Response:
    return g_ok(g(*parts, finish=finish, usage=usage_of(24, 9)))


RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: g_ok(HELLO),
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(
        g(text("Grüße, 東京 👋"), finish="STOP", usage=USAGE)), SSE),
    "usage_missing": lambda: g_ok(g(text("Hello")), g(text(", conformance")), g(text(" suite!"), finish="STOP")),
    "usage_cached": lambda: g_ok(g(text("Hello")), g(text(" again."), finish="STOP", usage=usage_of(
        2048, 5, cachedContentTokenCount=1920,
        cacheTokensDetails=[{"modality": "TEXT", "tokenCount": 1920}]))),
    "finish_stop": lambda: g_ok(HELLO),
    "finish_length": lambda: g_ok(g(text("Hello")), g(text(", con"), finish="MAX_TOKENS", usage=usage_of(11, 3))),
    # When a filter blocks the answer mid-stream, the last candidate has no content (published note on SAFETY).
    "finish_content_filter": lambda: g_ok(g(text("Hello")), g(finish="SAFETY", usage=usage_of(11, 1),
                                                               safetyRatings=SAFETY_RATINGS)),
    "finish_recitation": lambda: g_ok(g(text("Hello")), g(finish="RECITATION", usage=usage_of(11, 1))),
    "finish_unknown": lambda: g_ok(g(text("Hello, conformance suite!"), finish="NEW_FINISH_REASON", usage=USAGE)),
    "prompt_blocked": lambda: g_ok(g_event({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": SAFETY_RATINGS},
                                            "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11}})),
    "finish_tool_calls": lambda: _calls(TOKYO),
    "finish_stop_with_tool_calls": lambda: _calls(TOKYO),
    "finish_length_in_tool_call": lambda: _calls(call("get_weather", {"city": "To"}), finish="MAX_TOKENS"),
    "finish_malformed_function_call": lambda: g_ok(g(finish="MALFORMED_FUNCTION_CALL", usage=usage_of(24, 0),
                                                     finishMessage="Malformed function call: get_weather(city=)")),
    "tool_single": lambda: _calls(TOKYO),
    "tool_parallel": lambda: _calls(TOKYO, call("get_weather", {"city": "Paris"})),
    "tool_empty_ids": lambda: _calls(with_id("", "get_weather", {"city": "Tokyo"}),
                                     with_id("", "get_weather", {"city": "Paris"})),
    "tool_with_ids": lambda: _calls(with_id("4ezhd3x1", "get_weather", {"city": "Tokyo"})),
    "tool_thought_signature": lambda: g_ok(g(text("The user asks for Tokyo's weather.", thought=True)),
                                           g(call("get_weather", {"city": "Tokyo"}, thoughtSignature=SIGNATURE),
                                             finish="STOP", usage=usage_of(24, 9, thoughtsTokenCount=31))),
    "tool_zero_args": lambda: _calls(call("get_time", {})),
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(
        g(call("get_weather", {"city": "東京"}), finish="STOP", usage=usage_of(24, 9))), SSE),
    "tool_result_round_trip": lambda: g_ok(g(text("It is 3 C")), g(text(" with light snow in Oslo."), finish="STOP",
                                                                   usage=usage_of(40, 12))),
    "reasoning_content": lambda: g_ok(g(text("The user ", thought=True)),
                                      g(text("wants a greeting.", thought=True, thoughtSignature=SIGNATURE)),
                                      HELLO[:2], g(text(" suite!"), finish="STOP",
                                                   usage=usage_of(11, 7, thoughtsTokenCount=6))),
    "error_429": lambda: g_error(429, "RESOURCE_EXHAUSTED",
                                 "You exceeded your current quota, please check your plan and billing details."),
    "error_503": lambda: g_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "error_invalid_argument": lambda: g_error(400, "INVALID_ARGUMENT",
                                              "Invalid JSON payload received. Unknown name \"foo\": Cannot find field."),
    "overflow_before_stream": lambda: g_error(400, "INVALID_ARGUMENT", OVERFLOW),
    "overflow_mid_stream": lambda: g_ok(g(text("Hel")), g_event(
        {"error": {"code": 400, "message": OVERFLOW, "status": "INVALID_ARGUMENT"}})),
    "truncated_stream": lambda: g_ok(HELLO[:2]),
    "malformed_line": lambda: g_ok(g(text("Hel")), b'data: {"candidates": [{"content": {"par\r\n\r\n'),
    "connection_closed": lambda: Response(200, [g(text("Hel"))], SSE, end="closed"),
    "structured_output": lambda: _calls(call("WeatherReport", {"city": "Tokyo", "celsius": 21})),
    "agent_structured_output": lambda: _calls(call("WeatherReport", {"city": "Tokyo", "celsius": 21})),
    # Gemini 3 ids: the Agent must send the result back under the id the server gave.
    "agent_tool_loop": lambda: _calls(with_id("8kq2vd1c", "get_weather", {"city": "Tokyo"})),
}
EXTRA_CASES = {
    "finish_recitation": "text_basic",
    "prompt_blocked": "text_basic",
    "finish_malformed_function_call": "tool_single",
    "tool_empty_ids": "tool_single",
    "tool_with_ids": "tool_single",
    "tool_thought_signature": "tool_single",
    "error_invalid_argument": "text_basic",
}

REFERENCE = (
    "https://ai.google.dev/api/generate-content (streamGenerateContent with alt=sse, GenerateContentResponse, "
    "Candidate.finishReason, PromptFeedback.blockReason, UsageMetadata), "
    "https://ai.google.dev/gemini-api/docs/function-calling (whole functionCall parts, ids), "
    "https://ai.google.dev/gemini-api/docs/thinking#signatures (thought parts, thoughtSignature) and "
    "https://ai.google.dev/gemini-api/docs/troubleshooting (429 RESOURCE_EXHAUSTED, 400 INVALID_ARGUMENT, "
    "503 UNAVAILABLE error bodies)"
)

WRITTEN = WrittenWire(
    wire="gemini", reference=REFERENCE, path="/v1beta/models/smollm2:streamGenerateContent",
    reference_model=_reference_model, responses=RESPONSES, extra_cases=EXTRA_CASES,
    continuations={"agent_tool_loop": lambda: g_ok(g(text("It is 21 C and sunny in Tokyo."), finish="STOP",
                                                     usage=usage_of(40, 10)))},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
