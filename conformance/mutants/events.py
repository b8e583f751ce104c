"""Mutations of the events a provider yields and of the request it forwards: the agent-visible defects."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent

from .model import EventFilter, Mutation, StreamCall

async def _drop_block_stops(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "contentBlockStop" not in event:
            yield event


def _swap_stop_reasons(mapping: dict[str, str]) -> EventFilter:
    async def swap(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
        async for event in events:
            if "messageStop" in event:
                reason = event["messageStop"]["stopReason"]
                event = {"messageStop": {**event["messageStop"], "stopReason": mapping.get(reason, reason)}}
            yield event

    return swap


async def _drop_usage(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "metadata" not in event:
            yield event


async def _merge_tool_calls(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Every later tool call folded into the first tool block, as servers that put all calls on index 0."""
    tool_block_seen = False
    held_stop: StreamEvent | None = None  # the tool block's stop, held while later calls may merge in
    async for event in events:
        start = event.get("contentBlockStart", {}).get("start", {})
        if "toolUse" in start:
            if held_stop is not None:
                continue  # a later call: its start vanishes, its argument deltas land in the first block
            tool_block_seen = True
            yield event
            continue
        if "contentBlockStop" in event and tool_block_seen:
            held_stop = event
            continue
        if held_stop is not None and "toolUse" not in event.get("contentBlockDelta", {}).get("delta", {}):
            yield held_stop
            held_stop = None
            tool_block_seen = False
        yield event
    if held_stop is not None:
        yield held_stop


async def _swallow_errors(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """An exception becomes a quiet, empty `end_turn`, as providers that catch everything do."""
    started = False
    try:
        async for event in events:
            started = started or "messageStart" in event
            yield event
    except Exception:
        if not started:
            yield {"messageStart": {"role": "assistant"}}
        yield {"messageStop": {"stopReason": "end_turn"}}


async def _corrupt_tool_arguments(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Tool input arrives with its first character lost, so the JSON no longer parses."""
    first_input_delta = True
    async for event in events:
        if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"].get("start", {}):
            first_input_delta = True
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "toolUse" in delta and first_input_delta and delta["toolUse"].get("input"):
            first_input_delta = False
            damaged = delta["toolUse"]["input"][1:] or "}"
            event = {"contentBlockDelta": {**event["contentBlockDelta"], "delta": {"toolUse": {"input": damaged}}}}
        yield event


def _as_runtime_error(kind: type[Exception]) -> EventFilter:
    async def translate(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
        try:
            async for event in events:
                yield event
        except kind as exc:
            # the mapping and the cause are both lost, as in the bug reports
            raise RuntimeError(f"request failed: {exc}") from None

    return translate


async def _drop_text(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """The last text delta of each block is lost, as a provider that flushes its buffer too early."""
    held: StreamEvent | None = None
    async for event in events:
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "text" in delta:
            if held is not None:
                yield held
            held = event
            continue
        if "contentBlockStop" in event:
            held = None  # dropped
        elif held is not None:
            yield held
            held = None
        yield event
    if held is not None:
        yield held


async def _drop_reasoning(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Reasoning deltas silently dropped, as providers that read only the old field name."""
    async for event in events:
        if "reasoningContent" not in event.get("contentBlockDelta", {}).get("delta", {}):
            yield event


async def _drop_message_stop(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "messageStop" not in event:
            yield event


async def _structured_output_none(events: AsyncIterable[dict[str, Any]]) -> AsyncIterable[dict[str, Any]]:
    """The structured answer replaced by a silent None instead of an instance or an error."""
    async for event in events:
        if "output" in event:
            event = {"output": None}
        yield event


async def _lose_tool_use_ids(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Every tool call reported under one constant id, so results cannot be matched to calls."""
    async for event in events:
        start = event.get("contentBlockStart", {}).get("start", {})
        if "toolUse" in start:
            event = {"contentBlockStart": {**event["contentBlockStart"],
                                           "start": {"toolUse": {**start["toolUse"], "toolUseId": "call_0"}}}}
        yield event


def _drop_system_prompt(call: StreamCall) -> StreamCall:
    return StreamCall(call.messages, call.tool_specs, None, call.tool_choice, None, call.kwargs)


def _drop_tool_choice(call: StreamCall) -> StreamCall:
    return StreamCall(call.messages, call.tool_specs, call.system_prompt, None, call.system_prompt_content, call.kwargs)



MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation("faithful", "none: the control run"),
        Mutation("dropped_block_stop", "contentBlockStop never emitted", events=_drop_block_stops),
        Mutation("wrong_stop_reason", "max_tokens and end_turn swapped",
                 events=_swap_stop_reasons({"end_turn": "max_tokens", "max_tokens": "end_turn"})),
        Mutation("tool_use_as_end_turn", "tool_use reported as end_turn", events=_swap_stop_reasons({"tool_use": "end_turn"})),
        Mutation("filter_as_end_turn", "content_filtered reported as end_turn",
                 events=_swap_stop_reasons({"content_filtered": "end_turn"})),
        Mutation("lost_usage", "metadata (usage and metrics) never emitted", events=_drop_usage),
        Mutation("merged_tool_calls", "parallel tool calls merged into one block", events=_merge_tool_calls),
        Mutation("swallowed_errors", "any exception turned into an empty end_turn", events=_swallow_errors),
        Mutation("corrupted_tool_args", "tool input JSON loses its first character", events=_corrupt_tool_arguments),
        Mutation("overflow_as_generic", "context overflow raised as a plain RuntimeError",
                 events=_as_runtime_error(ContextWindowOverflowException)),
        Mutation("throttle_as_generic", "throttling raised as a plain RuntimeError (never retried)",
                 events=_as_runtime_error(ModelThrottledException)),
        Mutation("dropped_text", "the last text delta of each block lost", events=_drop_text),
        Mutation("dropped_reasoning", "reasoning deltas dropped", events=_drop_reasoning),
        Mutation("missing_message_stop", "messageStop never emitted", events=_drop_message_stop),
        Mutation("constant_tool_ids", "every tool call given the same id", events=_lose_tool_use_ids),
        Mutation("dropped_system_prompt", "system prompt (and its content blocks) not sent", request=_drop_system_prompt),
        Mutation("dropped_tool_choice", "tool_choice not sent", request=_drop_tool_choice),
        Mutation(
            "structured_output_none",
            "structured_output yields None instead of an instance or an error",
            structured_output_events=_structured_output_none,
        ),
    )
}
