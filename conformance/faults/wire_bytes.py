"""The bytes of each hostile answer, in each wire's own framing.

Why it exists: the robustness checks serve the same faults (a keep-alive, an event without content,
a tool call whose arguments never close, bytes that are not UTF-8, an event that never ends) to
providers of every wire, so each wire says once how its framing carries them: SSE for the
OpenAI-shaped wires, Anthropic and the Llama API, NDJSON for Ollama, AWS event-stream for Bedrock.
The events themselves come from the written cassettes' builders, so a fault differs from a
published answer only by the fault.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from conformance.written.anthropic import a_block_stop, a_delta, a_end, a_start, a_start_block, a_tool
from conformance.written.anthropic import event as anthropic_event
from conformance.written.bedrock_converse import B_START, b_block, b_end, b_tool
from conformance.written.builders import (
    DONE, EVENT_STREAM, NDJSON, SSE, SSE_UTF8, call, chunk, dumps, sse, tool_delta,
)
from conformance.written.gemini import USAGE as GEMINI_USAGE
from conformance.written.gemini import g
from conformance.written.gemini import text as gemini_text
from conformance.written.llama_api import LL_METRICS, ll, ll_call
from conformance.written.ollama import nd, nd_done
from conformance.wires.sagemaker import fault_framing as _sagemaker
from conformance.written.sglang_generate import STOP, ev
from providers._eventstream import encode_frame

__all__ = ["BAD_UTF8", "TRUNCATED_ARGUMENTS", "WIRE_FAULTS", "WireFaults", "wire_faults"]

#: Not UTF-8 anywhere: a lone continuation byte and a byte no encoding of a character uses.
BAD_UTF8 = b"\x80\xff"
#: Tool-call arguments that never close, as a server cut off mid-call sends them.
TRUNCATED_ARGUMENTS = '{"city": "Par'
TOOL_NAME = "get_weather"
_MARK = "@@fault@@"
_SSE_PING = b": ping\n\n"
_DELTA_HEADERS = {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}


@dataclass(frozen=True)
class WireFaults:
    """One wire's framing of the faults. `None` for a fault the wire has no way to carry, with the reason."""

    content_type: str
    opening: tuple[bytes, ...]  # what precedes the first content event
    text: Callable[[str], bytes]  # one event carrying text
    closing: tuple[bytes, ...]  # what ends a text answer normally
    empty: bytes  # an event that carries no content
    ping: bytes | None  # a keep-alive that carries nothing (a comment, a ping event)
    truncated_tool: tuple[bytes, ...] | None  # a whole answer: one call, unclosed arguments, a tool finish
    not_expressible: dict[str, str]  # fault name -> why this wire cannot carry it
    # The bytes before the filler of an event that never ends, given the filler's length (event-stream
    # frames state their length up front).
    oversize_head: Callable[[int], bytes] | None = None
    # A text event holding `BAD_UTF8`, for a framing that checksums its payload (event-stream).
    bad_text: bytes | None = None

    def text_with_bad_bytes(self) -> bytes:
        """A text event whose text holds `BAD_UTF8`, framed as the wire frames any text."""
        if self.bad_text is not None:
            return self.bad_text
        return self.text(f"Hello {_MARK}").replace(_MARK.encode(), BAD_UTF8)

    def head_of_endless_text(self, filler: int) -> bytes:
        """Every byte of a text event up to where its text begins; the filler then never ends it."""
        if self.oversize_head is not None:
            return self.oversize_head(filler)
        return self.text(_MARK).split(_MARK.encode())[0]


def _openai_shaped(content_type: str = SSE) -> WireFaults:
    def text(piece: str) -> bytes:
        return sse(chunk({"content": piece}))

    truncated = (sse(chunk({"role": "assistant", "content": None})),
                 sse(chunk(tool_delta(call(0, "call_fault01", TOOL_NAME, TRUNCATED_ARGUMENTS)))),
                 sse(chunk({}, "tool_calls")), DONE)
    return WireFaults(
        content_type=content_type, opening=(sse(chunk({"role": "assistant", "content": ""})),), text=text,
        closing=(sse(chunk({}, "stop")), DONE), empty=sse({**chunk(), "choices": []}), ping=_SSE_PING,
        truncated_tool=truncated, not_expressible={},
    )


def _anthropic() -> WireFaults:
    def text(piece: str) -> bytes:
        return a_delta(0, {"type": "text_delta", "text": piece})

    truncated = (a_start(), *a_tool(0, "toolu_fault01", TOOL_NAME, TRUNCATED_ARGUMENTS), *a_end("tool_use"))
    return WireFaults(
        content_type=SSE_UTF8, opening=(a_start(), a_start_block(0, {"type": "text", "text": ""})), text=text,
        closing=(a_block_stop(0), *a_end("end_turn")), empty=text(""),
        ping=anthropic_event("ping", {"type": "ping"}), truncated_tool=truncated, not_expressible={},
    )


def _bedrock_frame_head(filler: int) -> bytes:
    """A contentBlockDelta frame's prelude, headers and payload start, stating a payload of `filler` bytes
    more: a frame the decoder can only finish after reading them all."""
    encoded_headers = encode_frame(_DELTA_HEADERS, b"")[12:-4]
    start = b'{"contentBlockIndex":0,"delta":{"text":"'
    total = 12 + len(encoded_headers) + len(start) + filler + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    return prelude + struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF) + encoded_headers + start


def _bedrock() -> WireFaults:
    def text(piece: str) -> bytes:
        return b_block("contentBlockDelta", 0, delta={"text": piece})

    # The bad bytes go into the payload before the frame's lengths and checksums are computed.
    payload = dumps({"contentBlockIndex": 0, "delta": {"text": f"Hello {_MARK}"}}, compact=True).encode()
    bad_text = encode_frame(_DELTA_HEADERS, payload.replace(_MARK.encode(), BAD_UTF8))
    truncated = (B_START, *b_tool(0, "tooluse_fault01", TOOL_NAME, TRUNCATED_ARGUMENTS), *b_end("tool_use"))
    return WireFaults(
        content_type=EVENT_STREAM, opening=(B_START,), text=text,
        closing=(b_block("contentBlockStop", 0), *b_end("end_turn")), empty=text(""), ping=None,
        truncated_tool=truncated,
        not_expressible={
            "pings": "AWS event-stream has no keep-alive frame (its empty deltas are the empty_chunks case)"},
        oversize_head=_bedrock_frame_head, bad_text=bad_text,
    )


def _ollama() -> WireFaults:
    return WireFaults(
        content_type=NDJSON, opening=(), text=lambda piece: nd(piece), closing=(nd_done(),), empty=nd(""), ping=None,
        truncated_tool=None,
        not_expressible={
            "pings": "NDJSON has no comment form (its empty lines of content are the empty_chunks case)",
            "truncated_tool_arguments":
                "Ollama sends tool arguments as a JSON object inside a whole line, never in pieces",
        },
    )


def _llama_api() -> WireFaults:
    truncated = (ll("start"), ll("progress", ll_call("call_fault01", TOOL_NAME, TRUNCATED_ARGUMENTS)),
                 ll("complete", stop="tool_calls"), ll("metrics", metrics=LL_METRICS))
    return WireFaults(
        content_type=SSE, opening=(ll("start"),), text=lambda piece: ll("progress", {"type": "text", "text": piece}),
        closing=(ll("complete", stop="stop"), ll("metrics", metrics=LL_METRICS)), empty=ll("progress"),
        ping=_SSE_PING, truncated_tool=truncated, not_expressible={},
    )


def _gemini() -> WireFaults:
    return WireFaults(
        content_type=SSE, opening=(), text=lambda piece: g(gemini_text(piece)),
        closing=(g(finish="STOP", usage=GEMINI_USAGE),), empty=g(gemini_text("")), ping=_SSE_PING,
        truncated_tool=None,
        not_expressible={"truncated_tool_arguments": "Gemini sends each function call whole, its args a JSON object"},
    )


def _responses() -> WireFaults:
    """The OpenAI Responses events, named as the API names them; the text item is output 0."""

    def event(kind: str, **fields: object) -> bytes:
        return sse({"type": kind, **fields}, event=kind, compact=True)

    def text(piece: str) -> bytes:
        return event("response.output_text.delta", item_id="msg_fault01", output_index=0, content_index=0, delta=piece)

    created = event("response.created", response={"id": "resp_fault01", "object": "response", "status": "in_progress"})
    completed = event("response.completed", response={"id": "resp_fault01", "object": "response", "status": "completed",
                                                      "usage": {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}})
    call = {"id": "fc_fault01", "type": "function_call", "call_id": "call_fault01", "name": TOOL_NAME, "arguments": ""}
    truncated = (created, event("response.output_item.added", output_index=0, item=call),
                 event("response.function_call_arguments.delta", item_id="fc_fault01", output_index=0,
                       delta=TRUNCATED_ARGUMENTS), completed)
    message = {"id": "msg_fault01", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    return WireFaults(
        content_type=SSE, opening=(created, event("response.output_item.added", output_index=0, item=message)),
        text=text, closing=(event("response.output_item.done", output_index=0, item=message), completed),
        empty=text(""), ping=_SSE_PING, truncated_tool=truncated, not_expressible={},
    )


def _sglang_generate() -> WireFaults:
    # Each event holds all the text so far: `text` is the answer up to then, so the probes' "Hello" and its
    # bad-bytes follow-up ("Hello " + the bytes) extend each other, and a content-free event repeats "Hello".
    return WireFaults(
        content_type=SSE, opening=(), text=lambda piece: ev(piece), closing=(ev("Hello", STOP), DONE),
        empty=ev("Hello"), ping=_SSE_PING, truncated_tool=None,
        not_expressible={"truncated_tool_arguments": "a Hermes call is read whole from between its tags: arguments "
                                                     "that never close leave no call to run (finish_length_in_tool_call)"},
    )


WIRE_FAULTS: dict[str, Callable[[], WireFaults]] = {
    "openai-chat": _openai_shaped,
    "mistral": _openai_shaped,
    "writer": _openai_shaped,
    "litellm": _openai_shaped,  # routed to an OpenAI-compatible server: openai-chat SSE
    "anthropic": _anthropic,
    "bedrock-converse": _bedrock,
    "ollama": _ollama,
    "llama-api": _llama_api,
    "gemini": _gemini,
    "sagemaker": _sagemaker,
    "openai-responses": _responses,
    "sglang-generate": _sglang_generate,
}


def wire_faults(wire: str) -> WireFaults:
    try:
        return WIRE_FAULTS[wire]()
    except KeyError:
        raise KeyError(f"no fault framing for wire {wire!r}; known: {', '.join(WIRE_FAULTS)}") from None
