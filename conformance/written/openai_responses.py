"""The written cassettes of the openai-responses wire: Responses API streams the local servers never send.

vLLM and llama.cpp stream text, function calls and max-token cuts on /v1/responses (those cassettes are
recorded); neither sends reasoning, refusals, parallel calls, cached-token usage, `response.incomplete`,
`response.failed`, in-stream `error` events or rate limits. These follow the published event stream
instead; each response reads as the wire events in order, and the stored request is the reference
provider's own for the case. `python -m conformance.written openai-responses` regenerates them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import (
    SSE, Response, WrittenWire, split_every, split_inside_multibyte, sse,
)

REFERENCE = ("https://platform.openai.com/docs/api-reference/responses-streaming (event types, items, "
             "incomplete_details, response.failed, error) and https://platform.openai.com/docs/guides/error-codes")
RESPONSE_ID = "resp_written01"
MESSAGE_ID = "msg_written01"
CREATED = 1763769600


def _reference_model(case: Case) -> Any:
    from conformance.wires.openai_responses import responses_params
    from providers.openai_responses import OpenAIResponsesModel

    return OpenAIResponsesModel(client_args={"base_url": "http://127.0.0.1/v1"}, model_id="gpt-4.1-mini",
                                **responses_params(case.params))


class Stream:
    """Builds one response's events with OpenAI's running sequence_number and output_index."""

    def __init__(self) -> None:
        self.sequence = 0
        self.outputs: list[dict[str, Any]] = []
        self.events: list[bytes] = []

    def emit(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        event = sse(data, event=kind, compact=True)
        self.events.append(event)
        return event

    def response(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"id": RESPONSE_ID, "object": "response", "created_at": CREATED, "status": status,
                "model": "gpt-4.1-mini", "output": list(self.outputs), **extra}

    def start(self) -> Stream:
        self.emit("response.created", response=self.response("in_progress"))
        self.emit("response.in_progress", response=self.response("in_progress"))
        return self

    def message(self, *pieces: str, refusal: bool = False, done: bool = True) -> Stream:
        index = len(self.outputs)
        self.emit("response.output_item.added", output_index=index,
                  item={"id": MESSAGE_ID, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
        part_type, delta_type = ("refusal", "response.refusal.delta") if refusal else ("output_text", "response.output_text.delta")
        empty = {"type": part_type, "refusal": ""} if refusal else {"type": part_type, "text": "", "annotations": []}
        self.emit("response.content_part.added", item_id=MESSAGE_ID, output_index=index, content_index=0, part=empty)
        for piece in pieces:
            self.emit(delta_type, item_id=MESSAGE_ID, output_index=index, content_index=0, delta=piece)
        if not done:
            return self
        text = "".join(pieces)
        part = {"type": part_type, "refusal": text} if refusal else {"type": part_type, "text": text, "annotations": []}
        self.emit("response.refusal.done" if refusal else "response.output_text.done", item_id=MESSAGE_ID,
                  output_index=index, content_index=0, **({"refusal": text} if refusal else {"text": text}))
        self.emit("response.content_part.done", item_id=MESSAGE_ID, output_index=index, content_index=0, part=part)
        item = {"id": MESSAGE_ID, "type": "message", "status": "completed", "role": "assistant", "content": [part]}
        self.outputs.append(item)
        self.emit("response.output_item.done", output_index=index, item=item)
        return self

    def reasoning(self, *pieces: str) -> Stream:
        index, item_id = len(self.outputs), "rs_written01"
        self.emit("response.output_item.added", output_index=index,
                  item={"id": item_id, "type": "reasoning", "summary": [], "content": []})
        for piece in pieces:
            self.emit("response.reasoning_text.delta", item_id=item_id, output_index=index, content_index=0, delta=piece)
        text = "".join(pieces)
        self.emit("response.reasoning_text.done", item_id=item_id, output_index=index, content_index=0, text=text)
        item = {"id": item_id, "type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": text}]}
        self.outputs.append(item)
        self.emit("response.output_item.done", output_index=index, item=item)
        return self

    def call(self, call_id: str, name: str, *pieces: str, done: bool = True) -> Stream:
        index, item_id = len(self.outputs), f"fc_{call_id.removeprefix('call_')}"
        self.emit("response.output_item.added", output_index=index, item={
            "id": item_id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": call_id,
            "name": name})
        for piece in pieces:
            self.emit("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
        if not done:
            return self
        arguments = "".join(pieces)
        self.emit("response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=arguments)
        item = {"id": item_id, "type": "function_call", "status": "completed", "arguments": arguments,
                "call_id": call_id, "name": name}
        self.outputs.append(item)
        self.emit("response.output_item.done", output_index=index, item=item)
        return self

    def completed(self, usage: dict[str, Any] | None = None) -> list[bytes]:
        extra = {"usage": usage} if usage is not None else {}
        self.emit("response.completed", response=self.response("completed", **extra))
        return self.events

    def incomplete(self, reason: str, usage: dict[str, Any] | None = None) -> list[bytes]:
        self.emit("response.incomplete", response=self.response(
            "incomplete", incomplete_details={"reason": reason}, usage=usage or USAGE))
        return self.events


def usage(input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens}


USAGE = usage(21, 9)
TOOL_USAGE = usage(180, 14)
HELLO = ("Hello", ",", " conformance", " suite", "!")
TOKYO = '{"city": "Tokyo"}'


def ok(events: list[bytes], end: str = "complete") -> Response:
    return Response.ok(SSE, events, end=end)


def cut(events: list[bytes], split: Callable[[bytes], list[bytes]]) -> Response:
    return Response(200, split(b"".join(events)), SSE)


def text(*pieces: str, usage_: dict[str, Any] | None = USAGE) -> list[bytes]:
    return Stream().start().message(*pieces).completed(usage_)


def tool(*pieces: str) -> list[bytes]:
    return Stream().start().call("call_tokyo001", "get_weather", *pieces).completed(TOOL_USAGE)


def _split_arguments() -> list[bytes]:
    arguments = '{"city": "Tokyo \\"Central\\"\\n"}'
    pieces = []
    position = 0
    while position < len(arguments):
        size = 1 + len(pieces) % 2
        pieces.append(arguments[position:position + size])
        position += size
    return tool(*pieces)


def _error_event(code: str, message: str) -> list[bytes]:
    stream = Stream().start().message("Hello", ",", done=False)
    stream.emit("error", code=code, message=message, param=None)
    return stream.events


def _failed(code: str, message: str) -> list[bytes]:
    stream = Stream().start().message("Hello", ",", done=False)
    stream.emit("response.failed", response=stream.response("failed", error={"code": code, "message": message}))
    return stream.events


def _malformed() -> list[bytes]:
    events = Stream().start().message(*HELLO, done=False).events
    return [*events, b"data: {\"type\":\"response.output_text.delta\",\"delta\":\"unterminated\n\n"]


# Only what no local server sends: text, function calls, tool round trips, structured output and the 400
# overflow are recorded from vLLM (recordings/openai-responses/*.vllm.json). finish_length is written too:
# vLLM reports the cut inside response.completed, the published stream sends response.incomplete.
RESPONSES: dict[str, Callable[[], Response]] = {
    "text_multibyte_split": lambda: cut(text("Grüße aus Zürich ", "😀", " and 東京."), split_inside_multibyte),
    "usage_missing": lambda: ok(text(*HELLO, usage_=None)),
    "usage_cached": lambda: ok(text(*HELLO, usage_=usage(1313, 9, cached=1024))),
    "finish_length": lambda: ok(Stream().start().message("Hello", ",", " conformance", done=False).incomplete(
        "max_output_tokens", usage(21, 3))),
    "finish_content_filter": lambda: ok(Stream().start().message("Hello", ",", done=False).incomplete(
        "content_filter", usage(21, 2))),
    "finish_unknown": lambda: ok(Stream().start().message(*HELLO, done=False).incomplete("turn_budget_exhausted")),
    "finish_refusal": lambda: ok(Stream().start().message("I can't help with that.", refusal=True).completed(USAGE)),
    "finish_length_in_tool_call": lambda: ok(Stream().start().call(
        "call_tokyo001", "get_weather", '{"city": "Tok', done=False).incomplete("max_output_tokens", usage(180, 6))),
    "tool_parallel": lambda: ok(Stream().start().call("call_tokyo001", "get_weather", '{"city": ', '"Tokyo"}')
                                .call("call_paris001", "get_weather", '{"city": "Paris"}').completed(TOOL_USAGE)),
    "tool_split_arguments": lambda: ok(_split_arguments()),
    "tool_split_multibyte": lambda: cut(tool('{"city": "東京 Zürich"}'), lambda body: split_every(body, 5)),
    "tool_zero_args": lambda: ok(Stream().start().call("call_time001", "get_time").completed(TOOL_USAGE)),
    "reasoning_content": lambda: ok(Stream().start().reasoning("The user wants", " a greeting.").message(*HELLO)
                                    .completed(usage(21, 30, reasoning=21))),
    "error_429": lambda: Response.error(429, {"error": {
        "message": "Rate limit reached for gpt-4.1-mini on tokens per min (TPM): Limit 30000, Used 30000, Requested 21.",
        "type": "tokens", "param": None, "code": "rate_limit_exceeded"}}),
    "error_503": lambda: Response.error(503, {"error": {
        "message": "The engine is currently overloaded, please try again later", "type": "server_error",
        "param": None, "code": None}}),
    "overflow_openai_code": lambda: Response.error(400, {"error": {
        "message": "This model's maximum context length is 128000 tokens.", "type": "invalid_request_error",
        "param": "input", "code": "context_length_exceeded"}}),
    "overflow_mid_stream": lambda: ok(_failed("context_length_exceeded",
                                              "Your input exceeds the context window of this model.")),
    "response_failed": lambda: ok(_failed("server_error", "The model failed to generate a response.")),
    "error_event_rate_limit": lambda: ok(_error_event("rate_limit_exceeded", "Rate limit reached for gpt-4.1-mini.")),
    "truncated_stream": lambda: ok(Stream().start().message(*HELLO, done=False).events),
    "malformed_line": lambda: ok(_malformed()),
    "connection_closed": lambda: ok(Stream().start().message("Hello", ",", done=False).events, end="closed"),
    "agent_structured_output": lambda: ok(Stream().start().call(
        "call_report001", "WeatherReport", '{"city": "Tokyo", ', '"celsius": 21}').completed(TOOL_USAGE)),
    "agent_tool_loop": lambda: ok(tool('{"city": ', '"Tokyo"}')),
}
CONTINUATIONS = {
    "agent_tool_loop": lambda: ok(text("It is sunny in Tokyo.")),
}
WRITTEN = WrittenWire("openai-responses", REFERENCE, "/v1/responses", _reference_model, RESPONSES,
                      continuations=CONTINUATIONS)
# What the registry in conformance.written calls.
build = WRITTEN.build
