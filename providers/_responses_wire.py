"""Decoder of the OpenAI Responses API stream (`POST /v1/responses`, SSE) into the shared `StreamAssembler`.

Why it exists apart from the provider: decoding is pure (named events in, Strands events out), so the
wire tests drive it without HTTP. Block order, tool-call ids and usage defaults are the assembler's rules.

Event grammar (https://platform.openai.com/docs/api-reference/responses-streaming):
`response.created` -> `response.in_progress` -> per output item: `response.output_item.added` ->
(`response.content_part.added` -> `response.output_text.delta`* -> `response.output_text.done` ->
`response.content_part.done`) | `response.function_call_arguments.delta`* ->
`response.function_call_arguments.done` | `response.reasoning_text.delta`* /
`response.reasoning_summary_text.delta`* -> `response.output_item.done`; then exactly one terminal event:
`response.completed`, `response.incomplete` (`incomplete_details.reason`: `max_output_tokens`,
`content_filter`) or `response.failed` (`response.error`); an `error` event may end the stream anywhere.

Finish words fed to the assembler: `completed`, or the incomplete reason. vLLM ends a response cut by
max_output_tokens with `response.completed` whose status is `incomplete`: the status decides, not the
event name. llama.cpp says `completed` with no incomplete_details even then (it cannot tell us).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from strands.types.streaming import StreamEvent

from ._assembler import StreamAssembler
from ._sse import event_type
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError

__all__ = ["FINISH_WORDS", "ResponsesStreamDecoder"]

logger = logging.getLogger(__name__)

# Finish word (response status `completed` or an incomplete_details.reason) -> Strands stop reason.
FINISH_WORDS: dict[str, str] = {
    "completed": "end_turn",
    "max_output_tokens": "max_tokens",
    "content_filter": "content_filtered",
}
# Events that carry nothing a Strands stream holds: lifecycle, part boundaries, the `.done` echoes of
# text already streamed, annotations (no Strands citation for a URL here), keep-alives.
_SILENT = frozenset({
    "response.created", "response.in_progress", "response.queued", "response.content_part.added",
    "response.content_part.done", "response.output_text.done", "response.refusal.done",
    "response.reasoning_text.done", "response.reasoning_summary_text.done", "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done", "response.output_text.annotation.added", "keepalive",
})
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_NOTHING: tuple[()] = ()


class ResponsesStreamDecoder:
    """Feed `(event name, data)` pairs, get Strands events. One decoder per `stream()` call."""

    def __init__(self, url: str, assembler: StreamAssembler | None = None) -> None:
        self.url = url
        self.asm = assembler or StreamAssembler(finish_words=FINISH_WORDS)
        self._count = 0
        self._ended: str | None = None  # the terminal event's type, once seen
        self._refused = False
        # function_call item id -> the arguments streamed so far, to hold `.done` against them
        self._arguments: dict[str, list[str]] = {}

    def feed(self, event_name: str | None, data: Any) -> Sequence[StreamEvent]:
        self._count += 1
        kind = event_type("responses", self._count, event_name, data, self.url)
        if self._ended is not None:
            raise MalformedStreamError(f"responses event {kind!r} from {self.url} arrived after {self._ended}")
        if kind == "error":
            raise self._error(data, data)
        if kind in _TERMINAL:
            self._ended = kind
            return self._on_terminal(kind, self._require(data, "response", dict, kind))
        if kind in _SILENT:
            return _NOTHING
        handler = getattr(self, "_on_" + kind.removeprefix("response.").replace(".", "_"), None)
        if handler is None:
            # The API adds item and event types (web search, code interpreter): say so, do not guess.
            logger.warning("responses event type %r from %s is unknown to this decoder; ignored", kind, self.url)
            return _NOTHING
        return handler(data)

    # -- content -------------------------------------------------------------------------------

    def _on_output_text_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        return self.asm.text(self._require(data, "delta", str, "response.output_text.delta"))

    def _on_refusal_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        # A refusal is the model declining: shown as text, ended as content_filtered.
        self._refused = True
        return self.asm.text(self._require(data, "delta", str, "response.refusal.delta"))

    def _on_reasoning_text_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        return self.asm.reasoning_text(self._require(data, "delta", str, data["type"]))

    _on_reasoning_summary_text_delta = _on_reasoning_text_delta

    def _on_output_item_added(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        item = self._require(data, "item", dict, "response.output_item.added")
        if item.get("type") != "function_call":
            return _NOTHING
        item_id, call_id, name = item.get("id"), item.get("call_id"), item.get("name")
        if not isinstance(item_id, str) or not item_id or not name:
            raise MalformedStreamError(
                f"responses function_call item from {self.url} lacks an id or a name: {str(item)[:300]}"
            )
        initial = item.get("arguments") or None
        self._arguments[item_id] = [initial] if initial else []
        return self.asm.tool_call(item_id, id=call_id or None, name=name, arguments=initial)

    def _on_function_call_arguments_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        item_id = self._call_item(data)
        delta = self._require(data, "delta", str, "response.function_call_arguments.delta")
        self._arguments[item_id].append(delta)
        return self.asm.tool_call(item_id, arguments=delta)

    def _on_function_call_arguments_done(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        item_id = self._call_item(data)
        final = self._require(data, "arguments", str, "response.function_call_arguments.done")
        return self._settle_arguments(item_id, final)

    def _on_output_item_done(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        item = self._require(data, "item", dict, "response.output_item.done")
        events: list[StreamEvent] = []
        if item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
            events.extend(self._settle_arguments(self._call_item({"item_id": item.get("id")}), item["arguments"]))
        events.extend(self.asm.end_block())  # output items never interleave: the item's block is over
        return events

    def _settle_arguments(self, item_id: str, final: str) -> Sequence[StreamEvent]:
        """The whole arguments a `.done` event states: sent when none streamed, else they must agree."""
        streamed = "".join(self._arguments[item_id])
        if streamed == final:
            return _NOTHING
        if not streamed:
            self._arguments[item_id].append(final)
            return self.asm.tool_call(item_id, arguments=final)
        raise MalformedStreamError(
            f"function call {item_id!r} from {self.url}: the arguments streamed ({streamed[:200]!r}) are not the "
            f"final arguments the server states ({final[:200]!r})"
        )

    # -- end -----------------------------------------------------------------------------------

    def _on_terminal(self, kind: str, response: dict[str, Any]) -> Sequence[StreamEvent]:
        if kind == "response.failed":
            raise self._error(response.get("error"), response)
        details = response.get("incomplete_details") or {}
        status = response.get("status")
        if kind == "response.incomplete" or status == "incomplete" or details.get("reason"):
            reason = details.get("reason")
            if not isinstance(reason, str):
                raise MalformedStreamError(
                    f"responses {kind} from {self.url} says incomplete without incomplete_details.reason: "
                    f"{str(response)[:300]}"
                )
            self.asm.set_finish_reason(reason)  # unknown reasons follow the assembler's rule
        else:
            self.asm.set_finish_reason("content_filter" if self._refused else "completed")
        usage = response.get("usage")
        if isinstance(usage, dict):
            self._read_usage(usage)
        return _NOTHING

    def finish(self) -> Sequence[StreamEvent]:
        """The closing events once the HTTP body is over; raises if the wire never finished."""
        if self._ended is None:
            raise TruncatedStreamError(
                f"the stream from {self.url} ended after {self._count} events without response.completed, "
                "response.incomplete or response.failed: the server stopped mid-answer"
            )
        return self.asm.finish()

    # -- helpers -------------------------------------------------------------------------------

    def _read_usage(self, usage: dict[str, Any]) -> None:
        details = usage.get("input_tokens_details") or {}
        cached, written = details.get("cached_tokens"), details.get("cache_write_tokens")
        # input_tokens already holds the cached share (as Strands' inputTokens does); reasoning tokens
        # are inside output_tokens, which is where Strands counts them.
        self.asm.set_usage(usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens"),
                           cached or None, written or None)

    def _error(self, error: Any, raw_source: dict[str, Any]) -> StreamServerError:
        # The provider's error boundary tells throttling (rate_limit_exceeded) and context overflow
        # (context_length_exceeded) from the rest, as it does for the same errors sent as an HTTP status.
        message = error.get("message") if isinstance(error, dict) else None
        raw = json.dumps(raw_source, ensure_ascii=False)
        return StreamServerError(
            f"the server reported an error inside the stream from {self.url}: {raw[:2000]}",
            reported=(None, str(message or raw), raw),
        )

    def _call_item(self, data: dict[str, Any]) -> str:
        item_id = data.get("item_id")
        if item_id not in self._arguments:
            raise MalformedStreamError(
                f"responses {data.get('type', 'function_call item')} from {self.url} names item {item_id!r}, "
                f"which no response.output_item.added opened as a function_call"
            )
        return item_id

    def _require(self, container: dict[str, Any], key: str, kind: type, where: str) -> Any:
        value = container.get(key)
        if not isinstance(value, kind):
            raise MalformedStreamError(
                f"responses {where} from {self.url} needs {key!r} of type {kind.__name__}, got {str(value)[:200]}"
            )
        return value
