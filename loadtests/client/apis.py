"""The APIs a load run can speak (`--api`): each one's path, headers, stream reader and conformance wire.

A run measures one API end to end: the same workloads are sent in its request shape (runner/api_bodies.py),
its stream is read by its own reader into the same `StreamResult`, and a sampled stream is judged by the
suite's reference decoder of its wire, so every figure and rule means the same on every API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.wires import WireFamily, get_wire
from loadtests.client.chat_stream import ChatStreamAccumulator, StreamAccumulator
from loadtests.client.typed_stream import MessagesStreamAccumulator, ResponsesStreamAccumulator


@dataclass(frozen=True)
class Api:
    name: str  # the --api value
    path: str
    wire_name: str  # the conformance wire whose reference decoder judges the streams
    reader: type[StreamAccumulator]
    end_marker: str  # what ends a whole stream, named when a stream stops short of it
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def wire(self) -> WireFamily:
        return get_wire(self.wire_name)


APIS = {api.name: api for api in (
    Api("chat", "/v1/chat/completions", "openai-chat", ChatStreamAccumulator, "`data: [DONE]`"),
    Api("responses", "/v1/responses", "openai-responses", ResponsesStreamAccumulator,
        "a response.completed or response.incomplete event"),
    Api("messages", "/v1/messages", "anthropic", MessagesStreamAccumulator, "a message_stop event",
        {"anthropic-version": "2023-06-01"}),
)}
API_NAMES = tuple(APIS)
