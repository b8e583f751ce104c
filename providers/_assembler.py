"""One stream state machine for every wire family.

Each upstream Strands provider re-implements the same state machine and gets it subtly wrong
(tool calls buffered to the end, blocks never stopped, tool calls reported as ``end_turn``).
Here it lives once: a wire decoder (OpenAI chat SSE, Anthropic SSE, Bedrock event stream,
Ollama NDJSON, ...) feeds normalized deltas into a ``StreamAssembler`` and yields the Strands
``StreamEvent`` dicts it returns, in order.

API (every feeding method returns a sequence of events to yield; often empty)::

    asm = StreamAssembler(finish_words=WIRE_WORDS)
                                                # at request start: latency is measured from here;
                                                # finish_words: the wire's finish words -> Strands
    asm.start()                                 # [messageStart]; call once the server said 200
    asm.text("Hel")                             # text delta (opens a text block if needed)
    asm.reasoning_text("hmm")                   # reasoningContent.text delta
    asm.reasoning_signature("sig")              # reasoningContent.signature, same reasoning block
    asm.reasoning_redacted(b"...")              # reasoningContent.redactedContent, its own block
    asm.tool_call(key, id=..., name=..., arguments=...)
                                                # key: the vendor's index (or id); every field
                                                # optional, may arrive in any later delta
    asm.end_block()                             # the vendor closed its block (Anthropic stop)
    asm.set_finish_reason("tool_calls")         # raw vendor reason, mapped at finish()
    asm.set_usage(input_tokens=.., output_tokens=.., total_tokens=None,
                  cache_read_tokens=None, cache_write_tokens=None)
    asm.finish(additional_fields=None)          # close blocks, [.. messageStop, metadata]
    asm.finish_reason                           # raw reason seen so far (None if none yet)
    asm.progress_at                             # progress_clock() when content last arrived

Rules it enforces (each closes one of the upstream failures named above, or a server quirk it names):

- Blocks never interleave: opening a block closes the open one. Every block is closed.
- Tool calls: a toolUse block opens as soon as the call's id and name are both known; argument
  deltas that arrive earlier are buffered and flushed then; later ones stream as they arrive.
  A call that becomes ready while another call's block is open is queued (buffered) and opens
  when that block closes, so interleaved parallel calls (deltas for index 0, 1, 0, 1...) are
  reassembled; only the first call of a run streams live. A different id on a key already in
  use starts a new call and closes the old one (servers that put every call on index 0). A text
  or reasoning block ends the run: queued calls are emitted whole before it, and a later delta
  for any closed call raises ``ToolCallAssemblyError`` naming the index and what closed it. A
  call that never got a name raises at ``finish`` (not with a ``length`` finish: a cut-off call
  is dropped with a warning); a call with a name but no id by the end gets a generated id
  (``call_<hex>``) and a warning.
- Stop reasons: each wire passes its own ``finish_words`` (vendor word -> Strands stop reason);
  Strands' own names pass through. Tool calls present and a finish meaning end_turn (or none)
  -> ``tool_use`` (reported as ``end_turn``, the loop would never run them); ``length`` ->
  ``max_tokens`` even with tool calls (the event loop then turns the calls into text instead of
  running a half-streamed call);
  ``tool_calls`` with no call -> ``end_turn`` (warning); a finish of ``error``/``abort`` raises
  ``StreamServerError``; an unknown reason -> ``end_turn`` with a warning naming it; no finish
  reason at all (the decoder decided the stream still ended properly) -> ``end_turn``.
- ``metadata`` always carries integer usage (zeros and a warning when the server sent none) and
  ``metrics.latencyMs`` (start to finish) plus ``timeToFirstByteMs`` (start to first block).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final

from strands.types.streaming import StreamEvent

from .errors import MalformedStreamError, StreamServerError, ToolCallAssemblyError

__all__ = ["STRANDS_STOP_REASONS", "StreamAssembler", "progress_clock"]

logger = logging.getLogger(__name__)

# Strands' own stop reasons: a wire that already speaks them needs no word for them.
STRANDS_STOP_REASONS: Final[frozenset[str]] = frozenset(
    {"end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filtered", "guardrail_intervened"}
)
_FAILED_FINISH_REASONS: Final[frozenset[str]] = frozenset({"error", "abort"})

_EMPTY: Final[tuple[()]] = ()

#: The clock of ``StreamAssembler.progress_at`` (apart from the injectable clock of the metrics).
progress_clock: Final = time.monotonic

# Kinds of the open block.
_NONE: Final = 0
_TEXT: Final = 1
_REASONING: Final = 2
_REDACTED: Final = 3
_TOOL: Final = 4
_KIND_NAMES: Final = {
    _TEXT: "a text block",
    _REASONING: "a reasoning block",
    _REDACTED: "a redacted reasoning block",
    _TOOL: "a tool call",
}

_PENDING: Final = 0  # id or name still unknown
_QUEUED: Final = 1  # ready, waiting for the open tool call to close
_OPEN: Final = 2
_CLOSED: Final = 3


class _ToolCall:
    """One tool call being assembled; ``buffered`` holds arguments that arrived before it opened."""

    __slots__ = ("key", "id", "name", "state", "buffered", "seen", "closed_by")

    def __init__(self, key: Hashable, call_id: str | None, name: str | None) -> None:
        self.key = key
        self.id = call_id
        self.name = name
        self.state = _PENDING
        self.buffered: list[str] = []
        self.seen: list[str] = []  # every argument piece, checked once the finish reason is known
        self.closed_by = ""


class StreamAssembler:
    """Turns normalized deltas of one response into an ordered, well-formed Strands event stream."""

    __slots__ = (
        "_clock",
        "progress_at",
        "_finish_words",
        "_started_at",
        "_first_block_at",
        "_open_kind",
        "_open_call",
        "_calls",
        "_call_order",
        "_queue",
        "_tool_calls_seen",
        "finish_reason",
        "_usage",
        "_finished",
    )

    def __init__(
        self,
        *,
        finish_words: Mapping[str, str] | None = None,
        started_at: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._clock = clock
        self._finish_words: Mapping[str, str] = finish_words or {}
        self._started_at = clock() if started_at is None else started_at
        # When content last arrived (text, reasoning, tool-call data), on ``progress_clock``: the
        # progress deadline runs from here.
        self.progress_at = progress_clock()
        self._first_block_at: float | None = None
        self._open_kind = _NONE
        self._open_call: _ToolCall | None = None
        self._calls: dict[Hashable, _ToolCall] = {}
        self._call_order: list[_ToolCall] = []
        self._queue: list[_ToolCall] = []
        self._tool_calls_seen = 0
        self.finish_reason: str | None = None
        self._usage: dict[str, int] | None = None
        self._finished = False

    # -- message ---------------------------------------------------------------------------

    def start(self) -> Sequence[StreamEvent]:
        return ({"messageStart": {"role": "assistant"}},)

    # -- text and reasoning ----------------------------------------------------------------

    def text(self, text: str) -> Sequence[StreamEvent]:
        if not text:
            return _EMPTY
        self.progress_at = progress_clock()
        if self._open_kind == _TEXT:
            return ({"contentBlockDelta": {"delta": {"text": text}}},)
        events = self._open_block(_TEXT, None)
        events.append({"contentBlockDelta": {"delta": {"text": text}}})
        return events

    def reasoning_text(self, text: str) -> Sequence[StreamEvent]:
        if not text:
            return _EMPTY
        self.progress_at = progress_clock()
        if self._open_kind == _REASONING:
            return ({"contentBlockDelta": {"delta": {"reasoningContent": {"text": text}}}},)
        events = self._open_block(_REASONING, None)
        events.append({"contentBlockDelta": {"delta": {"reasoningContent": {"text": text}}}})
        return events

    def reasoning_signature(self, signature: str) -> Sequence[StreamEvent]:
        if not signature:
            return _EMPTY
        self.progress_at = progress_clock()
        events = [] if self._open_kind == _REASONING else self._open_block(_REASONING, None)
        events.append({"contentBlockDelta": {"delta": {"reasoningContent": {"signature": signature}}}})
        return events

    def reasoning_redacted(self, data: bytes) -> Sequence[StreamEvent]:
        if not data:
            return _EMPTY
        self.progress_at = progress_clock()
        events = [] if self._open_kind == _REDACTED else self._open_block(_REDACTED, None)
        events.append({"contentBlockDelta": {"delta": {"reasoningContent": {"redactedContent": data}}}})
        return events

    def end_block(self) -> Sequence[StreamEvent]:
        """Close the open block, if any (the vendor signalled the end of its block)."""
        if self._open_kind == _NONE:
            return _EMPTY
        return self._close_open("the vendor closed it")

    # -- tool calls ------------------------------------------------------------------------

    def tool_call(
        self,
        key: Hashable,
        *,
        id: str | None = None,  # noqa: A002 - the vendor's field name
        name: str | None = None,
        arguments: str | None = None,
    ) -> Sequence[StreamEvent]:
        call = self._calls.get(key)
        # Hot path: more arguments for the call that is streaming.
        if call is not None and call is self._open_call and (id is None or id == call.id):
            if name and name != call.name:
                raise ToolCallAssemblyError(
                    f"tool call at index {key!r} (id {call.id!r}) changed its name from {call.name!r} to {name!r}"
                )
            if arguments:
                call.seen.append(arguments)
                self.progress_at = progress_clock()
                return ({"contentBlockDelta": {"delta": {"toolUse": {"input": arguments}}}},)
            return _EMPTY

        events: list[StreamEvent] = []
        if call is None or (id and call.id and id != call.id):
            if call is not None:
                if call.state == _PENDING:
                    # Superseded before it could open: it can only be missing a name.
                    self._complain_unnamed(call, f"a new call with id {id!r} arrived at the same index")
                if call is self._open_call:  # replaced at its key, so it cannot grow any more
                    events.extend(self._close_open("a new call arrived at the same index"))
            call = _ToolCall(key, id, name)
            self.progress_at = progress_clock()
            self._calls[key] = call
            self._call_order.append(call)
            self._tool_calls_seen += 1
        else:
            if call.state == _CLOSED:
                raise ToolCallAssemblyError(
                    f"a delta for tool call index {key!r} (id {call.id!r}, name {call.name!r}) arrived after its "
                    f"block was closed because {call.closed_by}; Strands blocks cannot be reopened. "
                    f"Delta arguments: {arguments!r}"
                )
            if id and not call.id:
                call.id = id
            if name:
                if call.name and name != call.name:
                    raise ToolCallAssemblyError(
                        f"tool call at index {key!r} (id {call.id!r}) changed its name from {call.name!r} to {name!r}"
                    )
                call.name = name

        if arguments:
            call.seen.append(arguments)
            self.progress_at = progress_clock()
        state = call.state
        if state == _PENDING:
            if arguments:
                call.buffered.append(arguments)
            if call.id and call.name:
                if self._open_call is not None:
                    # Another call is streaming and may still grow (interleaved parallel calls):
                    # this one waits, buffered, until that block closes.
                    call.state = _QUEUED
                    self._queue.append(call)
                else:
                    events.extend(self._open_call_block(call))
        elif state == _QUEUED:
            if arguments:
                call.buffered.append(arguments)
        elif arguments:  # open (the hot path missed only because a repeated id was given)
            events.append({"contentBlockDelta": {"delta": {"toolUse": {"input": arguments}}}})
        return events

    # -- end -------------------------------------------------------------------------------

    def set_finish_reason(self, reason: str | None) -> None:
        if reason:
            self.finish_reason = reason

    def set_usage(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        total_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> None:
        """Record usage; None counts as 0 (servers send null), anything not an int raises."""
        values = {"inputTokens": input_tokens or 0, "outputTokens": output_tokens or 0}
        if total_tokens is not None:
            values["totalTokens"] = total_tokens
        if cache_read_tokens is not None:
            values["cacheReadInputTokens"] = cache_read_tokens
        if cache_write_tokens is not None:
            values["cacheWriteInputTokens"] = cache_write_tokens
        for field, value in values.items():
            if type(value) is not int:
                raise StreamServerError(
                    f"usage field {field} is {value!r} ({type(value).__name__}); expected an integer token count"
                )
        if total_tokens is None:
            values["totalTokens"] = values["inputTokens"] + values["outputTokens"]
        self._usage = values

    def finish(self, additional_fields: dict[str, Any] | None = None) -> Sequence[StreamEvent]:
        """Close what is open, then emit messageStop and metadata. Call exactly once."""
        if self._finished:
            raise RuntimeError("StreamAssembler.finish() called twice for one response")
        self._finished = True
        raw = self.finish_reason
        if raw in _FAILED_FINISH_REASONS:
            raise StreamServerError(
                f"the server ended the stream with finish reason {raw!r}: the response is incomplete; "
                "see the server log for the cause"
            )
        stop_reason = self._map_finish_reason(raw)
        truncated = stop_reason == "max_tokens"

        events: list[StreamEvent] = []
        while self._open_kind != _NONE:  # each close opens the next queued call, if any
            events.extend(self._close_open("the message ended"))
        for call in self._call_order:
            if call.state != _PENDING:
                continue
            if not call.name:
                if truncated:
                    logger.warning(
                        "tool call at index %r was cut off by max tokens before its name arrived; dropped", call.key
                    )
                    continue
                self._complain_unnamed(call, "the message ended")
            if not call.id:
                call.id = f"call_{uuid.uuid4().hex[:24]}"
                logger.warning(
                    "tool call %r at index %r arrived without an id; using generated id %s",
                    call.name,
                    call.key,
                    call.id,
                )
            events.extend(self._open_call_block(call))
            events.extend(self._close_open("the message ended"))

        if not truncated:
            self._check_arguments(raw)
        has_calls = any(call.state == _CLOSED for call in self._call_order)
        if has_calls and stop_reason == "end_turn":
            stop_reason = "tool_use"
        elif stop_reason == "tool_use" and not has_calls:
            logger.warning("finish reason %r but no tool call was streamed; reporting end_turn", raw)
            stop_reason = "end_turn"

        message_stop: dict[str, Any] = {"stopReason": stop_reason}
        if additional_fields is not None:
            message_stop["additionalModelResponseFields"] = additional_fields
        events.append({"messageStop": message_stop})

        now = self._clock()
        metrics: dict[str, int] = {"latencyMs": int((now - self._started_at) * 1000)}
        if self._first_block_at is not None:
            metrics["timeToFirstByteMs"] = int((self._first_block_at - self._started_at) * 1000)
        usage = self._usage
        if usage is None:
            logger.warning("the server sent no usage; reporting zero tokens")
            usage = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
        events.append({"metadata": {"usage": usage, "metrics": metrics}})
        return events

    # -- internals -------------------------------------------------------------------------

    def _map_finish_reason(self, raw: str | None) -> str:
        if raw is None:
            return "end_turn"
        mapped = self._finish_words.get(raw) or (raw if raw in STRANDS_STOP_REASONS else None)
        if mapped is None:
            logger.warning("unknown finish reason %r; reporting end_turn", raw)
            return "end_turn"
        return mapped

    def _open_block(self, kind: int, call: _ToolCall | None) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open_kind != _NONE:
            # Queued calls go out first, whole: a text or reasoning block ends the tool-call run.
            what = f"{_KIND_NAMES[kind]} began"
            events.extend(self._close_open(what))
            while self._open_kind != _NONE:
                events.extend(self._close_open(what))
        if self._first_block_at is None:
            self._first_block_at = self._clock()
        self._open_kind = kind
        if call is None:
            events.append({"contentBlockStart": {"start": {}}})
        return events

    def _open_call_block(self, call: _ToolCall) -> list[StreamEvent]:
        events = self._open_block(_TOOL, call)
        events.append({"contentBlockStart": {"start": {"toolUse": {"toolUseId": call.id, "name": call.name}}}})
        call.state = _OPEN
        self._open_call = call
        if call.buffered:
            events.append({"contentBlockDelta": {"delta": {"toolUse": {"input": "".join(call.buffered)}}}})
            call.buffered = []
        return events

    def _close_open(self, closed_by: str) -> list[StreamEvent]:
        """Close the open block; a closed tool call lets the first queued call open."""
        events: list[StreamEvent] = [{"contentBlockStop": {}}]
        call = self._open_call
        self._open_kind = _NONE
        if call is not None:
            call.state = _CLOSED
            call.closed_by = closed_by
            self._open_call = None
            if self._queue:
                events.extend(self._open_call_block(self._queue.pop(0)))
        return events

    def _check_arguments(self, raw: str | None) -> None:
        """Raise when a call's arguments are not JSON (Strands would run the tool with ``{}``); called
        unless the finish was a token cut-off, which the agent reports as ``max_tokens``."""
        for call in self._call_order:
            arguments = "".join(call.seen) if call.state == _CLOSED else ""
            if not arguments.strip():  # none at all: a tool without parameters
                continue
            try:
                json.loads(arguments)
            except ValueError as exc:
                seen = arguments.encode()
                raise MalformedStreamError(
                    f"tool call {call.name!r} (id {call.id!r}) ended with arguments that are not JSON ({exc}) "
                    f"under finish reason {raw!r}; {len(seen)} bytes seen: {seen[:300]!r}"
                ) from exc

    @staticmethod
    def _complain_unnamed(call: _ToolCall, when: str) -> None:
        raise ToolCallAssemblyError(
            f"tool call at index {call.key!r} (id {call.id!r}) never received a function name before {when}; "
            f"arguments so far: {''.join(call.buffered)[:200]!r}"
        )
