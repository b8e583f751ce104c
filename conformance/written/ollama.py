"""The written cassettes of the ollama wire: `/api/chat` streamed NDJSON, which no server here speaks.

Each response below reads as the NDJSON lines, in order (tool calls carry object arguments, the last
line carries `done_reason` and the token counts); the request stored is the reference provider's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import JSON, NDJSON, Response, WrittenWire, limits, ndjson, split_inside_multibyte


def _reference_model(case: Case) -> Any:
    from providers.ollama import OllamaModel

    max_tokens, temperature = limits(case)
    return OllamaModel("http://127.0.0.1", model_id="smollm2", max_tokens=max_tokens, temperature=temperature)


def nd(content: str = "", *, done: bool = False, thinking: str | None = None,
       tool_calls: list[dict[str, Any]] | None = None, **final: Any) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    line = {"model": "llama3.2", "created_at": "2026-11-22T05:00:00.000000Z", "message": message, "done": done, **final}
    return ndjson(line)


def nd_done(reason: str | None = "stop", prompt: int | None = 26, completion: int | None = 9) -> bytes:
    """The last line: durations always, then whichever of the reason and the two counts the case keeps."""
    final: dict[str, Any] = {"total_duration": 412000000, "load_duration": 2100000, "prompt_eval_duration": 61000000,
                             "eval_duration": 301000000}
    counted = {"done_reason": reason, "prompt_eval_count": prompt, "eval_count": completion}
    final.update({key: value for key, value in counted.items() if value is not None})
    return nd(done=True, **final)


def o_ok(*lines: bytes) -> Response:
    return Response.ok(NDJSON, *lines)


def o_error(status: int, message: str) -> Response:
    return Response.error(status, {"error": message}, f"{JSON}; charset=utf-8")


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"function": {"name": name, "arguments": arguments}}


OLLAMA_HELLO = (nd("Hello"), nd(", conformance"), nd(" suite!"))
RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: o_ok(*OLLAMA_HELLO, nd_done()),
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(nd("Grüße, 東京 👋") + nd_done()),
                                             NDJSON),
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
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(
        nd(tool_calls=[_call("get_weather", {"city": "東京"})]) + nd_done("stop")), NDJSON),
    "tool_result_round_trip": lambda: o_ok(nd("It is 3 C"), nd(" with light snow in Oslo."), nd_done("stop")),
    "reasoning_content": lambda: o_ok(nd(thinking="The user "), nd(thinking="wants a greeting."), *OLLAMA_HELLO,
                                      nd_done()),
    "error_503": lambda: o_error(503, "server busy, please try again.  maximum pending requests exceeded"),
    "error_model_not_found": lambda: o_error(404, "model \"llama3.2\" not found, try pulling it first"),
    "overflow_before_stream": lambda: o_error(400, "the input length exceeds the context length"),
    "overflow_mid_stream": lambda: o_ok(nd("Hel"), b'{"error":"the prompt is longer than the context length"}\n'),
    "truncated_stream": lambda: o_ok(*OLLAMA_HELLO),
    "malformed_line": lambda: o_ok(nd("Hel"), b'{"model":"llama3.2","message":{"role":"assis\n'),
    "connection_closed": lambda: Response(200, [nd("Hel")], NDJSON, end="closed"),
    "structured_output": lambda: o_ok(nd('{"city": "Tokyo", '), nd('"celsius": 21}'), nd_done("stop")),
}
RESPONSES.update({
    "agent_structured_output": lambda: o_ok(nd(tool_calls=[_call("WeatherReport", {"city": "Tokyo", "celsius": 21})]),
                                            nd_done("stop")),
    "agent_tool_loop": lambda: o_ok(nd(tool_calls=[_call("get_weather", {"city": "Tokyo"})]), nd_done("stop")),
})
EXTRA_CASES = {
    "usage_prompt_count_missing": "text_basic",
    "tool_with_ids": "tool_single",
    "error_model_not_found": "text_basic",
}


REFERENCE = (
    "https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion (streamed NDJSON, "
    "done_reason, prompt_eval_count/eval_count, tool_calls with object arguments, {\"error\"} bodies)"
)

WRITTEN = WrittenWire(
    wire="ollama", reference=REFERENCE, path="/api/chat", reference_model=_reference_model, responses=RESPONSES,
    extra_cases=EXTRA_CASES,
    continuations={"agent_tool_loop": lambda: o_ok(nd("It is 21 C and sunny in Tokyo."), nd_done("stop"))},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
