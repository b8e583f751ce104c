"""Decoder of the Anthropic Messages SSE events into the shared `StreamAssembler`.

Why it exists apart from the provider: the decoding is pure (events in, Strands events out), so
the wire tests drive it without HTTP, and a paused turn (`pause_turn`) is rebuilt here from the
same events. Block order, tool-call ids and usage defaults are the assembler's rules.

Stop reasons: end_turn, tool_use, max_tokens, stop_sequence pass through; `refusal` becomes
`content_filtered`; `model_context_window_exceeded` (output cut by the context window) becomes
`max_tokens`, the Strands reason for "the answer was truncated"; `pause_turn` is resumed by the
provider; a null or unknown reason follows the assembler's rules (end_turn, with a warning).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from strands.types.streaming import StreamEvent

from ._assembler import StreamAssembler
from ._sse import event_type
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError

__all__ = ["FINISH_WORDS", "AnthropicStreamDecoder"]

logger = logging.getLogger(__name__)

# Wire stop_reason -> Strands stop reason, for the assembler (end_turn, tool_use, max_tokens and
# stop_sequence are Strands' own names and pass through it).
FINISH_WORDS: dict[str, str] = {
    "refusal": "content_filtered",
    "model_context_window_exceeded": "max_tokens",
}
PAUSE_TURN = "pause_turn"
# Blocks Anthropic runs server side: no Strands equivalent, kept only to resend a paused turn.
SERVER_BLOCK_TYPES = frozenset({"server_tool_use", "mcp_tool_use", "container_upload"})
_NOTHING: tuple[()] = ()


@dataclass
class _Block:
    wire: dict[str, Any]
    streamed: bool  # False for server-side blocks, which never reach Strands
    key: int = 0
    partial_json: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    signature: str = ""

    def as_wire_content(self) -> dict[str, Any]:
        """The block as the API wants it back in the assistant message that resumes a paused turn."""
        block = dict(self.wire)
        kind = block["type"]
        if self.partial_json:
            block["input"] = json.loads("".join(self.partial_json))
        elif kind == "text":
            block["text"] = block.get("text", "") + "".join(self.text)
            block.pop("citations", None)
        elif kind == "thinking":
            block["thinking"] = block.get("thinking", "") + "".join(self.thinking)
            block["signature"] = self.signature or block.get("signature", "")
        return block


# Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
class AnthropicStreamDecoder:
    """Feed `(event name, data)` pairs, get Strands events. One decoder per `stream()` call."""

    def __init__(self, url: str, assembler: StreamAssembler | None = None) -> None:
        self.url = url
        self.asm = assembler or StreamAssembler()
        self.paused = False
        self._started = False
        self._blocks: list[_Block] = []
        self._open: tuple[int, _Block] | None = None
        self._next_key = 0
        self._stop_reason: str | None = None
        self._saw_message_stop = False
        self._count = 0
        # Usage: this request's latest counts (message_delta repeats them cumulatively), and the sum of
        # earlier requests of the same turn (pause_turn continuations).
        self._request_usage: dict[str, int] = {}
        self._earlier_usage: dict[str, int] = {}

    def feed(self, event_name: str | None, data: Any) -> Sequence[StreamEvent]:
        self._count += 1
        kind = event_type("anthropic", self._count, event_name, data, self.url)
        if self._saw_message_stop:
            raise MalformedStreamError(f"anthropic event {kind!r} from {self.url} arrived after message_stop")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            # The API may add event types; say so rather than drop it silently.
            logger.warning("anthropic event type %r from %s is unknown to this decoder; ignored", kind, self.url)
            return _NOTHING
        return handler(data)

    # -- events --------------------------------------------------------------------------------

    def _on_ping(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        return _NOTHING

    def _on_message_start(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        message = self._require(data, "message", dict, "message_start")
        self._request_usage = {}
        self._read_usage(message.get("usage") or {})
        if self._started:
            return _NOTHING  # a resumed pause_turn continues the same Strands message
        self._started = True
        return self.asm.start()

    def _on_content_block_start(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        self._require_started("content_block_start")
        index = self._require(data, "index", int, "content_block_start")
        wire = self._require(data, "content_block", dict, "content_block_start")
        if self._open is not None:
            raise MalformedStreamError(
                f"anthropic content_block_start for index {index} from {self.url} while block {self._open[0]} is open"
            )
        kind = wire.get("type")
        server_side = kind in SERVER_BLOCK_TYPES or (isinstance(kind, str) and kind.endswith("_tool_result"))
        block = _Block(wire=wire, streamed=not server_side, key=self._next_key)
        self._next_key += 1  # wire indexes restart at 0 in a pause_turn continuation; keys do not
        self._blocks.append(block)
        self._open = (index, block)
        if server_side:
            return _NOTHING
        if kind == "text":
            return self.asm.text(wire.get("text") or "")
        if kind == "tool_use":
            if not wire.get("id") or not wire.get("name"):
                raise MalformedStreamError(
                    f"anthropic tool_use block {index} from {self.url} lacks an id or a name: {str(wire)[:200]}"
                )
            initial = json.dumps(wire["input"]) if wire.get("input") else None
            if initial:
                block.partial_json.append(initial)
            return self.asm.tool_call(block.key, id=wire["id"], name=wire["name"], arguments=initial)
        if kind == "thinking":
            return self.asm.reasoning_text(wire.get("thinking") or "")
        if kind == "redacted_thinking":
            redacted = base64.b64decode(self._require(wire, "data", str, "redacted_thinking block"))
            return self.asm.reasoning_redacted(redacted)
        raise MalformedStreamError(f"anthropic content block type {kind!r} at index {index} is not supported")

    def _on_content_block_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        block = self._open_block(data, "content_block_delta")
        delta = self._require(data, "delta", dict, "content_block_delta")
        kind = delta.get("type")
        if kind == "input_json_delta":
            partial = self._require(delta, "partial_json", str, "input_json_delta")
            block.partial_json.append(partial)
            if not block.streamed or not partial:
                return _NOTHING
            return self.asm.tool_call(block.key, arguments=partial)
        if not block.streamed:
            return _NOTHING
        if kind == "text_delta":
            text = self._require(delta, "text", str, "text_delta")
            block.text.append(text)
            return self.asm.text(text)
        if kind == "thinking_delta":
            thinking = self._require(delta, "thinking", str, "thinking_delta")
            block.thinking.append(thinking)
            return self.asm.reasoning_text(thinking)
        if kind == "signature_delta":
            block.signature = self._require(delta, "signature", str, "signature_delta")
            return self.asm.reasoning_signature(block.signature)
        if kind == "citations_delta":
            return _NOTHING if isinstance(delta.get("citation"), dict) else self._bad_delta(delta)
        return self._bad_delta(delta)

    def _bad_delta(self, delta: dict[str, Any]) -> Sequence[StreamEvent]:
        raise MalformedStreamError(
            f"anthropic delta type {delta.get('type')!r} from {self.url} is not supported: {str(delta)[:200]}"
        )

    def _on_content_block_stop(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        block = self._open_block(data, "content_block_stop")
        self._open = None
        if block.wire.get("type") == "tool_use" and not any(block.partial_json):
            # A zero-argument call streams no input at all; Strands needs a JSON object.
            return [*self.asm.tool_call(block.key, arguments="{}"), *self.asm.end_block()]
        return self.asm.end_block() if block.streamed else _NOTHING

    def _on_message_delta(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        self._require_started("message_delta")
        delta = self._require(data, "delta", dict, "message_delta")
        if delta.get("stop_reason") is not None:
            self._stop_reason = delta["stop_reason"]
        self._read_usage(data.get("usage") or {})
        return _NOTHING

    def _on_message_stop(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        self._require_started("message_stop")
        if self._open is not None:
            raise MalformedStreamError(f"anthropic message_stop from {self.url} while block {self._open[0]} is open")
        self._saw_message_stop = True
        self.paused = self._stop_reason == PAUSE_TURN
        return _NOTHING

    def _on_error(self, data: dict[str, Any]) -> Sequence[StreamEvent]:
        # The provider's error boundary tells throttling (overloaded_error, rate_limit_error) and
        # context overflow from the rest, as it does for the same errors sent as an HTTP status.
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        raw = json.dumps(data)
        raise StreamServerError(
            f"the server reported an error inside the stream from {self.url}: {raw[:2000]}",
            reported=(None, str(error.get("message")), raw),
        )

    # -- end -----------------------------------------------------------------------------------

    def finish(self) -> Sequence[StreamEvent]:
        """The closing events once the HTTP body is over; raises if the wire never finished."""
        if not self._saw_message_stop:
            raise TruncatedStreamError(
                f"the stream from {self.url} ended without message_stop after {self._count} events "
                f"(stop_reason so far {self._stop_reason!r}): the server stopped mid-answer"
            )
        reason = self._stop_reason
        self.asm.set_finish_reason(reason)  # mapped by the assembler; unknown and null follow its rules
        usage = self._usage_total()
        cache_read, cache_write = usage.get("cache_read_input_tokens", 0), usage.get("cache_creation_input_tokens", 0)
        output_tokens = usage.get("output_tokens", 0)
        # Anthropic's input_tokens leaves out the tokens read from or written to the prompt cache (llama.cpp
        # reports its reused KV cache the same way); Strands' inputTokens is the whole prompt, so that
        # totalTokens == inputTokens + outputTokens, with the cached share in cacheRead/WriteInputTokens.
        input_tokens = usage.get("input_tokens", 0) + cache_read + cache_write
        if usage:
            self.asm.set_usage(input_tokens, output_tokens, input_tokens + output_tokens, cache_read or None,
                               cache_write or None)
        return self.asm.finish()

    def paused_assistant_message(self) -> dict[str, Any]:
        """The assistant message to append to the request to resume a `pause_turn`."""
        return {"role": "assistant", "content": [block.as_wire_content() for block in self._blocks]}

    def resume(self) -> None:
        """Get ready for the continuation request's events (same Strands message, usage summed)."""
        for key, value in self._request_usage.items():
            self._earlier_usage[key] = self._earlier_usage.get(key, 0) + value
        self._request_usage = {}
        self.paused = False
        self._saw_message_stop = False
        self._stop_reason = None
        self._blocks = []

    # -- helpers -------------------------------------------------------------------------------

    def _read_usage(self, usage: dict[str, Any]) -> None:
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            value = usage.get(key)
            if value is None:
                continue
            if type(value) is not int:
                raise MalformedStreamError(f"anthropic usage.{key} from {self.url} is not an integer: {value!r}")
            self._request_usage[key] = value

    def _usage_total(self) -> dict[str, int]:
        keys = set(self._request_usage) | set(self._earlier_usage)
        return {key: self._request_usage.get(key, 0) + self._earlier_usage.get(key, 0) for key in keys}

    def _require_started(self, kind: str) -> None:
        if not self._started:
            raise MalformedStreamError(f"anthropic {kind} from {self.url} arrived before message_start")

    def _open_block(self, data: dict[str, Any], kind: str) -> _Block:
        index = self._require(data, "index", int, kind)
        if self._open is None or self._open[0] != index:
            raise MalformedStreamError(
                f"anthropic {kind} from {self.url} for block {index}, but the open block is "
                f"{self._open[0] if self._open else None}"
            )
        return self._open[1]

    def _require(self, container: dict[str, Any], key: str, kind: type, where: str) -> Any:
        value = container.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedStreamError(
                f"anthropic {where} from {self.url} needs {key!r} of type {kind.__name__}, got {str(value)[:200]}"
            )
        return value
