"""The written cassettes of the sglang-generate wire: SGLang's `/generate` stream, which no server here runs.

Each response is the events SGLang's HTTP server writes for a streamed generate request
(`data: {"text", "output_ids", "meta_info"}` with everything generated so far, `data: [DONE]` last),
with `output_ids` in the suite's byte vocabulary (id = byte value); errors are its `{"error":
{"message"}}` objects. The request stored is the one the reference provider sends.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.cases import Case
from conformance.written.builders import DONE, JSON, SSE, Response, WrittenWire, limits, sse, split_inside_multibyte

PROMPT_TOKENS = 26


def _reference_model(case: Case) -> Any:
    from providers.sglang import SGLangModel

    max_tokens, temperature = limits(case)
    return SGLangModel("http://127.0.0.1:30000", model_id="smollm2", max_tokens=max_tokens, temperature=temperature)


def ev(text: str, finish: dict[str, Any] | None = None, *, cached: int = 0) -> bytes:
    """One event: the text so far, its ids, and meta_info (finish_reason null until the last event)."""
    ids = list(text.encode())
    meta: dict[str, Any] = {"id": "written01", "finish_reason": finish, "prompt_tokens": PROMPT_TOKENS,
                            "weight_version": "default", "completion_tokens": len(ids), "cached_tokens": cached}
    if finish is not None:
        meta["e2e_latency"] = 0.412
    return sse({"text": text, "output_ids": ids, "meta_info": meta}, compact=True)


STOP = {"type": "stop", "matched": 2}
LENGTH = {"type": "length", "length": 3}


def grow(*pieces: str, finish: dict[str, Any] | None = STOP, cached: int = 0) -> list[bytes]:
    """The events of an answer streamed in `pieces`, the last one carrying `finish`."""
    text, events = "", []
    for number, piece in enumerate(pieces):
        text += piece
        events.append(ev(text, finish if number == len(pieces) - 1 else None, cached=cached))
    return events


def ok(*events: bytes | list[bytes], done: bool = True) -> Response:
    return Response.ok(SSE, *events, *([DONE] if done else []))


def error(status: int, message: str) -> Response:
    return Response.error(status, {"error": {"message": message}}, JSON)


def call(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "\n</tool_call>"


HELLO = ("Hello", ", conformance", " suite!")
OVERFLOW = "The input (4117 tokens) is longer than the model's context length (4096 tokens)."
TOKYO = call("get_weather", {"city": "Tokyo"})
RESPONSES = {
    "text_basic": lambda: ok(grow(*HELLO)),
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(b"".join(grow("Grüße, ", "東京 👋"))
                                                                         + DONE), SSE),
    "usage_missing": lambda: ok(grow(*HELLO)),
    "usage_cached": lambda: ok(grow(*HELLO, cached=16)),
    "finish_stop": lambda: ok(grow(*HELLO)),
    "finish_length": lambda: ok(grow("Hel", "lo", finish=LENGTH)),
    "finish_length_in_tool_call": lambda: ok(grow("<tool_call>\n", '{"name": "get_weather", ', '"arguments": {"city": "To',
                                                  finish=LENGTH)),
    "tool_single": lambda: ok(grow("<tool_call>\n", TOKYO[len("<tool_call>\n"):-20], TOKYO[-20:])),
    "tool_parallel": lambda: ok(grow(TOKYO, "\n" + call("get_weather", {"city": "Paris"}))),
    "tool_zero_args": lambda: ok(grow(call("get_time", {}))),
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(
        b"".join(grow("<tool_call>\n", call("get_weather", {"city": "東京"})[len("<tool_call>\n"):])) + DONE), SSE),
    "tool_result_round_trip": lambda: ok(grow("It is 3 C", " with light snow in Oslo.")),
    "error_503": lambda: error(503, "The server is overloaded; retry later."),
    "overflow_before_stream": lambda: error(400, OVERFLOW),
    "overflow_in_stream": lambda: ok(sse({"error": {"message": OVERFLOW}}, compact=True)),
    "finish_abort": lambda: ok(grow("Hel", finish={"type": "abort", "message": "Abort in waiting queue",
                                                    "status_code": 503, "err_type": None})),
    "truncated_stream": lambda: ok(grow(*HELLO, finish=None), done=False),
    "malformed_line": lambda: ok(ev("Hel"), b'data: {"text": "Hello", "output_ids": [72,\n\n'),
    "connection_closed": lambda: Response(200, [ev("Hel")], SSE, end="closed"),
    "structured_output": lambda: ok(grow('{"city": "Tokyo", ', '"celsius": 21}')),
    "agent_structured_output": lambda: ok(grow(call("WeatherReport", {"city": "Tokyo", "celsius": 21}))),
    "agent_tool_loop": lambda: ok(grow(TOKYO)),
}
EXTRA_CASES = {"finish_abort": "text_basic", "overflow_in_stream": "text_basic"}

REFERENCE = (
    "https://docs.sglang.io/docs/basic_usage/native_api (POST /generate: text or input_ids, sampling_params, "
    "stream) and sgl-project/sglang python/sglang/srt/entrypoints/http_server.py, managers/tokenizer_manager.py "
    "(each event `data: {text, output_ids, meta_info}` with the text so far, meta_info.finish_reason "
    "{type: stop|length|abort} and prompt_tokens/completion_tokens/cached_tokens, `data: [DONE]` last; "
    "errors as {\"error\": {\"message\"}}, in the body or as an event)"
)

WRITTEN = WrittenWire(
    wire="sglang-generate", reference=REFERENCE, path="/generate", reference_model=_reference_model,
    responses=RESPONSES, extra_cases=EXTRA_CASES,
    continuations={"agent_tool_loop": lambda: ok(grow("It is 21 C and sunny in Tokyo."))},
)
# What the registry in conformance.written calls.
build = WRITTEN.build
