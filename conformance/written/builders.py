"""Wire bytes and cassette assembly: the one builder behind every written cassette and hand-built test stream.

The written cassettes of every wire family, and the tests that feed providers streams by hand, frame
their bytes here: OpenAI chat chunks and tool-call deltas, SSE events, NDJSON lines, AWS event-stream
frames, byte cuts, and the `Cassette` marked `source.kind = "written"`. The JSON separators and
escaping are parameters, not variants, because each cassette's bytes must stay exactly as published.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import CASES, Case
from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from providers._eventstream import encode_event as aws_event
from providers._eventstream import encode_exception as aws_exception

__all__ = [
    "DONE", "EVENT_STREAM", "JSON", "NDJSON", "SSE", "SSE_UTF8", "WRITTEN_AT", "Response", "WrittenWire", "aws_event",
    "aws_exception", "call", "chunk", "dumps", "json_body", "limits", "ndjson", "numbered", "split_every",
    "split_inside_multibyte", "sse", "timed", "tool_delta", "usage", "usage_chunk", "written_source",
]

SSE = "text/event-stream"
SSE_UTF8 = "text/event-stream; charset=utf-8"
NDJSON = "application/x-ndjson"
JSON = "application/json"
EVENT_STREAM = "application/vnd.amazon.eventstream"
WRITTEN_AT = "2026-11-22"

DONE = b"data: [DONE]\n\n"

# The id and timestamp of the written openai-chat cassettes' chunks; tests pass their own.
WRITTEN_CHUNK_ID = "chatcmpl-written"
WRITTEN_CREATED = 1763769600


def dumps(payload: Any, *, compact: bool = False, ascii_only: bool = False) -> str:
    return json.dumps(payload, ensure_ascii=ascii_only, separators=(",", ":") if compact else (", ", ": "))


def sse(payload: Any, *, event: str | None = None, compact: bool = False, ascii_only: bool = False) -> bytes:
    """One SSE event: `data: <json>` (or a raw string), under an `event:` line when named."""
    data = payload if isinstance(payload, str) else dumps(payload, compact=compact, ascii_only=ascii_only)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def ndjson(payload: Any) -> bytes:
    return (dumps(payload, compact=True) + "\n").encode()


def json_body(payload: Any) -> bytes:
    return dumps(payload).encode()


# -- OpenAI chat chunks ---------------------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, *, id: str = WRITTEN_CHUNK_ID,
          created: int = WRITTEN_CREATED, model: str = "smollm2", logprobs: bool = True,
          choice_extra: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A `chat.completion.chunk` with one choice; `extra` adds top-level fields after `choices`."""
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}}
    if logprobs:
        choice["logprobs"] = None
    choice["finish_reason"] = finish
    choice.update(choice_extra or {})
    return {"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [choice],
            **extra}


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def usage_chunk(prompt: int, completion: int, *, id: str = WRITTEN_CHUNK_ID, created: int | None = WRITTEN_CREATED,
                model: str = "smollm2") -> dict[str, Any]:
    """The chunk with no choices that carries usage (`stream_options.include_usage`); some vendors omit `created`."""
    head: dict[str, Any] = {"id": id, "object": "chat.completion.chunk"}
    if created is not None:
        head["created"] = created
    return {**head, "model": model, "choices": [], "usage": usage(prompt, completion)}


def call(index: int, call_id: str | None = None, name: str | None = None,
         arguments: str | None = None) -> dict[str, Any]:
    """One entry of `delta.tool_calls`: only the fields given, as servers send partial calls."""
    item: dict[str, Any] = {"index": index}
    if call_id is not None:
        item["id"] = call_id
        item["type"] = "function"
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    if function:
        item["function"] = function
    return item


def tool_delta(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": list(calls)}


# -- cutting a body into network reads ------------------------------------------------------------------------


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def split_inside_multibyte(body: bytes) -> list[bytes]:
    """Cut the body right after the first byte of every multi-byte character: boundaries a reader must join."""
    chunks, start = [], 0
    for position, byte in enumerate(body):
        if byte >= 0xC0 and position > start:  # a lead byte: cut after it, inside the character
            chunks.append(body[start : position + 1])
            start = position + 1
    chunks.append(body[start:])
    return [piece for piece in chunks if piece]


def timed(parts: list[bytes], first_ms: int = 35, step_ms: int = 12) -> list[Chunk]:
    return [Chunk(first_ms + step_ms * number, data) for number, data in enumerate(parts)]


def numbered(parts: list[bytes]) -> list[Chunk]:
    """Chunks 1 ms apart from 0: the order is what matters, not a server's timing."""
    return [Chunk(number, data) for number, data in enumerate(parts)]


def limits(case: Case) -> tuple[Any, Any]:
    """The case's `max_tokens` and `temperature`, the two limits every reference provider takes by name."""
    return case.params.get("max_tokens"), case.params.get("temperature")


# -- assembling cassettes -------------------------------------------------------------------------------------


def written_source(reference: str, note: str, written_at: str | None = None) -> dict[str, Any]:
    source = {"kind": "written", "reference": reference}
    if written_at is not None:
        source["written_at"] = written_at
    return {**source, "note": note}


@dataclass
class Response:
    """One written response: its status, the network reads of its body, and how the body ends."""

    status: int
    chunks: list[bytes]
    content_type: str
    end: str = "complete"

    @classmethod
    def ok(cls, content_type: str, *parts: bytes | list[bytes], end: str = "complete") -> Response:
        """A 200 response from events and lists of events, flattened in order."""
        chunks: list[bytes] = []
        for part in parts:
            chunks.extend(part if isinstance(part, list) else [part])
        return cls(200, chunks, content_type, end)

    @classmethod
    def error(cls, status: int, payload: Any, content_type: str = JSON) -> Response:
        return cls(status, [json_body(payload)], content_type)


@dataclass(frozen=True)
class WrittenWire:
    """A wire whose cassettes are one response table keyed by case, with the reference provider's request.

    `extra_cases` maps a case the suite does not have to the suite case whose request it answers;
    `continuations` adds the second turn of cases that take two (an Agent loop, a paused turn). Each
    cassette's note names the module that defines `reference_model`, the wire's writer.
    """

    wire: str
    reference: str
    path: str
    reference_model: Callable[[Case], Any]
    responses: Mapping[str, Callable[[], Response]]
    extra_cases: Mapping[str, str] = field(default_factory=dict)
    continuations: Mapping[str, Callable[[], Response]] = field(default_factory=dict)
    error_headers: Callable[[str], dict[str, str]] = lambda case: {}

    def request_body(self, case: Case) -> Any:
        """What the reference provider sends for the case, so a reviewer sees both sides; plain JSON types."""
        kwargs = case.stream_kwargs()
        body = self.reference_model(case).format_request(
            kwargs["messages"], kwargs["tool_specs"], kwargs["system_prompt"], kwargs.get("tool_choice"),
            kwargs.get("system_prompt_content"))
        return json.loads(json.dumps(body))

    def build(self) -> dict[str, Cassette]:
        out: dict[str, Cassette] = {}
        for case_name, make_response in self.responses.items():
            body = self.request_body(CASES[self.extra_cases.get(case_name, case_name)])
            responses = [make_response()]
            if case_name in self.continuations:
                responses.append(self.continuations[case_name]())
            interactions = [self._interaction(case_name, body, response) for response in responses]
            writer = self.reference_model.__module__.replace(".", "/")
            note = f"written by {writer}.py: {case_name.replace('_', ' ')}"
            source = written_source(self.reference, note, WRITTEN_AT)
            # The Agent structured-output check picks cassettes by the path they answer: ours force a tool.
            variant = "written-tool" if case_name == "agent_structured_output" else "written"
            out[f"{case_name}.{variant}.json"] = Cassette(self.wire, case_name, source, interactions)
        return out

    def _interaction(self, case_name: str, body: Any, response: Response) -> Interaction:
        headers = {"content-type": response.content_type}
        if response.status != 200:
            headers.update(self.error_headers(case_name))
        return Interaction(RecordedRequest("POST", self.path, {"content-type": JSON}, body),
                           RecordedResponse(response.status, headers, numbered(response.chunks), response.end))
