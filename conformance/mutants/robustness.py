"""Mutations that let a hostile server through: a hang on a stream without content, garbage passed on as data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from strands.types.streaming import StreamEvent

from providers.errors import InvalidUTF8Error, MalformedStreamError, StalledStreamError

from .model import Mutation


async def _hang_on_stall(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """No progress deadline: where the provider would give up on a silent or keep-alive-only stream, it waits."""
    try:
        async for event in events:
            yield event
    except StalledStreamError:
        await asyncio.Event().wait()  # never set: as a provider without a deadline, until the caller gives up


async def _truncated_arguments_as_empty(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Arguments that never closed end the call anyway (the agent then runs the tool with `{}`)."""
    try:
        async for event in events:
            yield event
    except InvalidUTF8Error:
        raise
    except MalformedStreamError as exc:
        if "tool call" not in str(exc):
            raise
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "tool_use"}}


async def _replace_invalid_utf8(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Bytes that are not UTF-8 become U+FFFD, as `bytes.decode(errors="replace")` makes them."""
    try:
        async for event in events:
            yield event
    except InvalidUTF8Error:
        yield {"contentBlockDelta": {"delta": {"text": "Hello \ufffd\ufffd"}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation("hangs_without_progress", "no progress deadline: a stalled or keep-alive-only stream hangs it",
                 events=_hang_on_stall),
        Mutation("truncated_args_passed_on", "tool arguments that never closed passed on as a finished call",
                 events=_truncated_arguments_as_empty),
        Mutation("invalid_utf8_replaced", "bytes that are not UTF-8 passed on as U+FFFD text",
                 events=_replace_invalid_utf8),
    )
}
