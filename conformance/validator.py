"""The event-sequence validator: is this stream something the Strands event loop consumes correctly?

The Strands loop forgives a lot (a missing `messageStop` becomes `end_turn`, unparsable tool JSON
becomes `{}`, a tool block without an id is dropped), which is exactly why provider bugs hide. This
module holds the grammar the loop *assumes* and says, for the first event that breaks it, which
event, at which index, which rule, and expected versus got.

The shapes of single events are `conformance.event_schemas`; this module checks the sequence.
It is plain Python (no pytest): `validate_events(events)` raises `EventSequenceError` or returns a
`StreamSummary` of what the loop would assemble, so provider authors can run it in their own tests.

Checks, in order, per event:
1. shape: a dict with exactly one key among the provider-facing `StreamEvent` keys;
2. schema: the value against a JSON Schema of that key (jsonschema, Draft 2020-12);
3. order, by a small state machine: at most one `messageStart`, first; content blocks opened,
   filled and closed without interleaving (a text or reasoning delta may open its block itself, as
   Bedrock's stream does and the loop accepts; tool input needs its toolUse start); the delta kind
   fixed by the block start (a tool block takes tool input only, a plain block takes text or
   reasoning, not both); tool input parsing as
   a JSON object at the block stop; exactly one `messageStop`, after every block is closed, with a
   stop reason consistent with the content; at most one `metadata`, with
   `totalTokens == inputTokens + outputTokens` (plus `cacheReadInputTokens + cacheWriteInputTokens`
   when present: Bedrock counts the cached prompt in the total).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.event_schemas import EVENT_SCHEMAS, EVENT_VALIDATORS, LOOP_INTERNAL_KEYS, STOP_REASONS

__all__ = [
    "EVENT_SCHEMAS",
    "STOP_REASONS",
    "EventSequenceError",
    "StreamSummary",
    "ToolUseSummary",
    "validate_events",
]


class EventSequenceError(ValueError):
    """One event broke one rule of the stream grammar.

    `index` is the event's position (or `len(events)` for a rule checked at the end of the stream),
    `rule` a short stable name (tests and reports key on it), `expected` and `got` the two sides.
    """

    def __init__(self, index: int, event: Any, rule: str, expected: str, got: str) -> None:
        self.index = index
        self.event = event
        self.rule = rule
        self.expected = expected
        self.got = got
        where = "end of stream" if event is None else f"event #{index} {_short(event)}"
        super().__init__(f"{where}: rule '{rule}': expected {expected}; got {got}")


@dataclass
class ToolUseSummary:
    """A tool call as the loop would assemble it."""

    tool_use_id: str
    name: str
    raw_input: str
    input: dict[str, Any]


@dataclass
class StreamSummary:
    """What a valid stream assembles to: the evidence checks assert on."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    additional_fields: Any = None
    usage: dict[str, int] | None = None
    metrics: dict[str, int] | None = None
    has_message_start: bool = False

    @property
    def text(self) -> str:
        return "".join(block["text"] for block in self.blocks if "text" in block)

    @property
    def reasoning(self) -> str:
        return "".join(block["reasoning"] for block in self.blocks if "reasoning" in block)

    @property
    def tool_uses(self) -> list[ToolUseSummary]:
        return [block["toolUse"] for block in self.blocks if "toolUse" in block]


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _OpenBlock:
    index: int
    tool_use_id: str | None
    name: str | None
    kind: str | None  # "toolUse", "text" or "reasoning"; None until the first delta of a plain block
    parts: list[str] = field(default_factory=list)


def validate_events(events: Iterable[Mapping[str, Any]]) -> StreamSummary:
    """Check a provider's event sequence; return what it assembles to, or raise `EventSequenceError`."""
    events = list(events)
    summary = StreamSummary()
    block: _OpenBlock | None = None
    message_stop_at: int | None = None
    metadata_at: int | None = None

    for index, event in enumerate(events):
        key, body = _check_shape(index, event)

        if key == "messageStart":
            if index != 0:
                raise EventSequenceError(
                    index, event, "message-start-first", "messageStart only as the first event", f"it at #{index}"
                )
            summary.has_message_start = True
            continue

        if message_stop_at is not None and key not in ("metadata", "redactContent"):
            raise EventSequenceError(
                index, event, "nothing-after-message-stop",
                f"only metadata after the messageStop at #{message_stop_at}", key,
            )

        if key == "contentBlockStart":
            if block is not None:
                raise EventSequenceError(
                    index, event, "blocks-not-interleaved",
                    f"contentBlockStop for the block opened at #{block.index} first", "a new contentBlockStart",
                )
            tool = body["start"].get("toolUse")
            block = _OpenBlock(
                index=index,
                tool_use_id=tool["toolUseId"] if tool else None,
                name=tool["name"] if tool else None,
                kind="toolUse" if tool else None,
            )
        elif key == "contentBlockDelta":
            if block is None:
                if "toolUse" in body["delta"]:
                    raise EventSequenceError(
                        index, event, "delta-inside-block", "a contentBlockStart (toolUse) before tool input",
                        "no open block",
                    )
                # Bedrock opens only tool blocks; the loop gathers a plain delta with no block open, to the stop.
                block = _OpenBlock(index=index, tool_use_id=None, name=None, kind=None)
            _apply_delta(index, event, body["delta"], block)
        elif key == "contentBlockStop":
            if block is None:
                raise EventSequenceError(
                    index, event, "stop-closes-open-block", "an open block to close", "no open block"
                )
            summary.blocks.append(_close_block(index, event, block))
            block = None
        elif key == "messageStop":
            if block is not None:
                raise EventSequenceError(
                    index, event, "blocks-closed-before-stop",
                    f"contentBlockStop for the block opened at #{block.index}", "messageStop",
                )
            message_stop_at = index
            summary.stop_reason = body["stopReason"]
            summary.additional_fields = body.get("additionalModelResponseFields")
            _check_stop_reason(index, event, summary)
        elif key == "metadata":
            if block is not None:
                raise EventSequenceError(
                    index, event, "metadata-outside-block",
                    f"contentBlockStop for the block opened at #{block.index} first", "metadata",
                )
            if metadata_at is not None:
                raise EventSequenceError(
                    index, event, "one-metadata", "a single metadata event", f"a second one (first at #{metadata_at})"
                )
            metadata_at = index
            usage = body["usage"]
            total = usage["inputTokens"] + usage["outputTokens"]
            cached = usage.get("cacheReadInputTokens", 0) + usage.get("cacheWriteInputTokens", 0)
            # Bedrock counts the cached prompt in totalTokens but not in inputTokens; both sums are valid.
            if usage["totalTokens"] not in (total, total + cached):
                allowed = f"inputTokens + outputTokens == {total}" + (
                    f" or that + cacheReadInputTokens + cacheWriteInputTokens == {total + cached}" if cached else "")
                raise EventSequenceError(
                    index, event, "usage-total", f"totalTokens == {allowed}", f"totalTokens {usage['totalTokens']}",
                )
            summary.usage = dict(usage)
            summary.metrics = dict(body["metrics"])

    end = len(events)
    if block is not None:
        raise EventSequenceError(
            end, None, "blocks-closed-before-stop",
            f"contentBlockStop for the block opened at #{block.index}", "end of stream",
        )
    if message_stop_at is None:
        raise EventSequenceError(end, None, "one-message-stop", "exactly one messageStop", "none")
    return summary


def _check_shape(index: int, event: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(event, Mapping) or len(event) != 1:
        got = type(event).__name__ if not isinstance(event, Mapping) else f"keys {sorted(event)}"
        raise EventSequenceError(index, event, "one-key-event", "a dict with exactly one StreamEvent key", got)
    (key, body), = event.items()
    if key not in EVENT_VALIDATORS:
        hint = (
            " (a loop-internal exception event: raise the mapped strands exception instead)"
            if key in LOOP_INTERNAL_KEYS
            else ""
        )
        raise EventSequenceError(index, event, "known-event-key", f"one of {sorted(EVENT_VALIDATORS)}", f"{key!r}{hint}")
    errors = sorted(EVENT_VALIDATORS[key].iter_errors(body), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        path = "/".join(str(part) for part in first.absolute_path) or "(root)"
        raise EventSequenceError(
            index, event, "schema", f"{key} matching its JSON Schema at {path}", first.message
        )
    return key, body


def _apply_delta(index: int, event: Any, delta: dict[str, Any], block: _OpenBlock) -> None:
    if "toolUse" in delta:
        if block.kind != "toolUse":
            raise EventSequenceError(
                index, event, "delta-matches-block",
                f"a {block.kind or 'text or reasoning'} delta in the plain block opened at #{block.index}",
                "a toolUse delta",
            )
        tool = delta["toolUse"]
        for key, attr in (("toolUseId", "tool_use_id"), ("name", "name")):
            seen = getattr(block, attr)
            if key in tool and seen and tool[key] != seen:
                raise EventSequenceError(
                    index, event, "tool-identity-stable",
                    f"{key} {seen!r} for the whole block opened at #{block.index}", repr(tool[key]),
                )
            if key in tool:
                setattr(block, attr, tool[key])
        block.parts.append(tool["input"])
        return
    if block.kind == "toolUse":
        kind = next(iter(delta))
        raise EventSequenceError(
            index, event, "delta-matches-block",
            f"a toolUse delta in the tool block opened at #{block.index}", f"a {kind} delta",
        )
    if "citation" in delta:
        return
    kind = "text" if "text" in delta else "reasoning"
    if block.kind is None:
        block.kind = kind
    elif block.kind != kind:
        raise EventSequenceError(
            index, event, "delta-matches-block",
            f"only {block.kind} deltas in the block opened at #{block.index} (one kind per block)",
            f"a {kind} delta",
        )
    if kind == "text":
        block.parts.append(delta["text"])
    else:
        block.parts.append(delta["reasoningContent"].get("text") or "")


def _close_block(index: int, event: Any, block: _OpenBlock) -> dict[str, Any]:
    raw = "".join(block.parts)
    if block.kind != "toolUse":
        return {block.kind or "text": raw}
    # Unparsable input is judged at the messageStop: legitimate only when the stop is max_tokens.
    problem: EventSequenceError | None = None
    parsed: Any = {}
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            problem = EventSequenceError(
                index, event, "tool-input-json",
                f"the concatenated tool input of the block at #{block.index} to parse as JSON "
                "(unless the message stops with max_tokens)",
                f"{_short(raw)} ({exc})",
            )
    if problem is None and not isinstance(parsed, dict):
        problem = EventSequenceError(
            index, event, "tool-input-json", "a JSON object as tool input", f"{type(parsed).__name__} {_short(raw)}"
        )
    tool = ToolUseSummary(block.tool_use_id, block.name, raw, parsed if problem is None else {})
    return {"toolUse": tool, "problem": problem}


def _check_stop_reason(index: int, event: Any, summary: StreamSummary) -> None:
    has_tool = bool(summary.tool_uses)
    reason = summary.stop_reason
    if reason != "max_tokens":
        for block in summary.blocks:
            if block.get("problem") is not None:
                raise block["problem"]
    if reason == "tool_use" and not has_tool:
        raise EventSequenceError(
            index, event, "stop-reason-matches-content", "tool_use only after a tool block", "tool_use with no tool block"
        )
    if has_tool and reason in ("end_turn", "stop_sequence"):
        raise EventSequenceError(
            index, event, "stop-reason-matches-content",
            "tool_use (or max_tokens) when the message holds tool calls", reason,
        )
