"""Mutations of how a provider reads its stream: the defects only the streaming families can see.

Each is a failure class filed against real providers: a parser that takes every transport chunk for
whole wire messages (lines, SSE events, AWS event-stream frames), a body buffered to the end before the
first event, a response left open when the Agent stops reading, per-stream state kept on the model instance. The event sequences they yield for the
recorded chunking, read to the end, one stream at a time, are the faithful ones; the chunk-boundary,
incremental-delivery, cancellation and concurrency families respectively must catch them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

import httpx
from strands.types.streaming import StreamEvent

from conformance.replay import message_ends

from .model import Mutation

# Streams a leaking provider never closes stay referenced, as an unclosed response in a real one does.
_ABANDONED: list[AsyncIterator[StreamEvent]] = []
# The tool call "being opened", kept once for every stream: what state on the model instance becomes.
_SHARED_STATE: dict[str, Any] = {}
# True while a `lines_per_chunk` stream is being read in this context.
_WHOLE_MESSAGES_ONLY: ContextVar[bool] = ContextVar("whole_messages_only", default=False)
_ORIGINAL_AITER_RAW: Callable[..., AsyncIterator[bytes]] = httpx.Response.aiter_raw


def _message_end(buffer: bytes, start: int, content_type: str) -> int | None:
    """Where the wire message starting at `start` ends in `buffer`; None while it is unfinished."""
    if content_type.startswith("application/vnd.amazon.eventstream"):
        if len(buffer) - start < 4:
            return None
        end = start + max(int.from_bytes(buffer[start : start + 4], "big"), 4)  # the prelude's total length
        return end if end <= len(buffer) else None
    ends = message_ends(buffer[start:], content_type)  # SSE events in any line ending, else lines
    return start + ends[0] if ends else None


async def _whole_messages_of_each_chunk(self: httpx.Response, chunk_size: int | None = None) -> AsyncIterator[bytes]:
    """Each chunk's whole wire messages (SSE events, NDJSON lines, event-stream frames); a message split
    across chunks is lost, as a parser that decodes every read on its own and skips what it cannot parse
    (the upstream llama.cpp provider's bare `continue`)."""
    if not _WHOLE_MESSAGES_ONLY.get():
        async for chunk in _ORIGINAL_AITER_RAW(self, chunk_size):
            yield chunk
        return
    content_type = self.headers.get("content-type", "")
    buffer = b""  # the unfinished message, from its first byte
    split = False  # it began in an earlier chunk
    async for chunk in _ORIGINAL_AITER_RAW(self, chunk_size):
        split, buffer, start, whole = bool(buffer), buffer + chunk, 0, []
        while (end := _message_end(buffer, start, content_type)) is not None:
            if start or not split:
                whole.append(buffer[start:end])
            start = end
        split = split and not start
        buffer = buffer[start:]
        if whole:
            yield b"".join(whole)
    if buffer and not split:
        yield buffer  # a last message the body never ended, read in one piece: the provider judges it


def _install_whole_message_reads() -> None:
    """Route httpx's raw reads through the mutant for good; the context variable keeps every other provider
    of the process (the control, the bare provider) reading untouched bytes."""
    global _ORIGINAL_AITER_RAW
    if httpx.Response.aiter_raw is not _whole_messages_of_each_chunk:
        _ORIGINAL_AITER_RAW = httpx.Response.aiter_raw
        httpx.Response.aiter_raw = _whole_messages_of_each_chunk  # type: ignore[method-assign]


async def _lines_per_chunk(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    _install_whole_message_reads()
    # Set in the task that reads this stream, whose context the provider's reads run in.
    _WHOLE_MESSAGES_ONLY.set(True)
    try:
        async for event in events:
            yield event
    finally:
        _WHOLE_MESSAGES_ONLY.set(False)


async def _buffer_to_end(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    for event in [event async for event in events]:
        yield event


async def _leak_on_close(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    iterator = aiter(events)
    _ABANDONED.append(iterator)  # never closed: closing this stream leaves the inner one (and its response) open
    while True:
        try:
            event = await anext(iterator)
        except StopAsyncIteration:
            _ABANDONED.remove(iterator)
            return
        yield event


async def _tool_start_on_instance(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """A tool call's start kept on the instance and yielded with its first argument delta (a lazy block start)."""
    async for event in events:
        tool = event.get("contentBlockStart", {}).get("start", {}).get("toolUse")
        if tool is not None:
            _SHARED_STATE["tool"] = tool
            continue
        if "toolUse" in event.get("contentBlockDelta", {}).get("delta", {}) and "tool" in _SHARED_STATE:
            yield {"contentBlockStart": {"start": {"toolUse": _SHARED_STATE.pop("tool")}}}
        elif "contentBlockStop" in event and "tool" in _SHARED_STATE:  # a call without arguments
            yield {"contentBlockStart": {"start": {"toolUse": _SHARED_STATE.pop("tool")}}}
        yield event


MUTATIONS: dict[str, Mutation] = {
    mutation.name: mutation
    for mutation in (
        Mutation("lines_per_chunk", "each transport chunk parsed as whole wire messages (a message split across chunks lost)",
                 events=_lines_per_chunk),
        Mutation("buffered_to_end", "the whole stream read before the first event is yielded", events=_buffer_to_end),
        Mutation("leaked_on_close", "closing the stream leaves the HTTP response open", events=_leak_on_close),
        Mutation("tool_state_on_instance", "the tool call being opened kept on the model instance",
                 events=_tool_start_on_instance),
    )
}
