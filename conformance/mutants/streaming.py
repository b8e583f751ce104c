"""Mutations of how a provider reads its stream: the defects only the streaming families can see.

Each is a failure class filed against real providers: a parser that takes every transport chunk for
whole lines, a body buffered to the end before the first event, a response left open when the Agent
stops reading, per-stream state kept on the model instance. The event sequences they yield for the
recorded chunking, read to the end, one stream at a time, are the faithful ones; the chunk-boundary,
incremental-delivery, cancellation and concurrency families respectively must catch them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import contextmanager
from typing import Any

import httpx
from strands.types.streaming import StreamEvent

from .model import Mutation

# Streams a leaking provider never closes stay referenced, as an unclosed response in a real one does.
_ABANDONED: list[AsyncIterator[StreamEvent]] = []
# The tool call "being opened", kept once for every stream: what state on the model instance becomes.
_SHARED_STATE: dict[str, Any] = {}


@contextmanager
def _chunks_read_as_whole_lines() -> Any:
    """httpx hands the provider only the complete lines of each chunk, as a parser that splits each chunk on
    newlines and skips the fragments it cannot parse (the upstream llama.cpp provider's bare `continue`)."""
    original = httpx.Response.aiter_raw

    async def whole_lines(self: httpx.Response, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in original(self, chunk_size):
            start = 0 if chunk.startswith(b"data:") else chunk.find(b"\n") + 1  # a fragment of the previous line
            end = chunk.rfind(b"\n") + 1  # a line the next chunk finishes
            if end > start:
                yield chunk[start:end]

    httpx.Response.aiter_raw = whole_lines  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Response.aiter_raw = original  # type: ignore[method-assign]


async def _lines_per_chunk(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    with _chunks_read_as_whole_lines():
        async for event in events:
            yield event


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
        Mutation("lines_per_chunk", "each transport chunk parsed as whole lines (fragments skipped)",
                 events=_lines_per_chunk),
        Mutation("buffered_to_end", "the whole stream read before the first event is yielded", events=_buffer_to_end),
        Mutation("leaked_on_close", "closing the stream leaves the HTTP response open", events=_leak_on_close),
        Mutation("tool_state_on_instance", "the tool call being opened kept on the model instance",
                 events=_tool_start_on_instance),
    )
}
