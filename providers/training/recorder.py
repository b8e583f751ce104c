"""Capture the exact token ids vLLM produced, per model call, from an Agent's event stream.

RL training must train on the ids the server sampled, never on a re-tokenization of the text
(the same text can split differently). Our vLLM provider, built with ``return_token_ids=True``,
puts them in ``messageStop.additionalModelResponseFields`` as ``prompt_token_ids`` and
``token_ids``; the Strands event loop hands every raw stream event to the Agent's callback
handler as ``event=...``. The recorder sits there, chains any inner handler, and keeps one
``ModelCallTokens`` per model call (plus the text and usage streamed alongside, which the
conformance checks compare the ids against).

When asked (``add_to_span=True``) it also sets the span attributes Agent Lightning reads on the
model-invocation span that is current while the event is handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from opentelemetry import trace as trace_api

__all__ = [
    "MalformedTokenIdsError",
    "ModelCallTokens",
    "SPAN_ATTRIBUTE_COMPLETION_COUNT",
    "SPAN_ATTRIBUTE_PROMPT_COUNT",
    "SPAN_ATTRIBUTE_PROMPT_IDS",
    "SPAN_ATTRIBUTE_RESPONSE_IDS",
    "TokenRecorder",
    "TokenUsage",
]

SPAN_ATTRIBUTE_PROMPT_COUNT = "llm.token_count.prompt"
SPAN_ATTRIBUTE_COMPLETION_COUNT = "llm.token_count.completion"
SPAN_ATTRIBUTE_PROMPT_IDS = "llm.hosted_vllm.prompt_token_ids"
SPAN_ATTRIBUTE_RESPONSE_IDS = "llm.hosted_vllm.response_token_ids"


class MalformedTokenIdsError(ValueError):
    """A messageStop carried a token-id field that is not a list of non-negative integers."""


@dataclass(frozen=True)
class TokenUsage:
    """The usage the server reported for one model call (Strands ``metadata.usage``)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ModelCallTokens:
    """What one model call produced: its ids (None when the server sent none) and what streamed with them.

    ``text`` is the concatenation of the call's text deltas; ``tool_use_count`` the number of tool-use
    blocks it started (their arguments stream as tool input, not as text).
    """

    index: int
    prompt_token_ids: tuple[int, ...] | None
    token_ids: tuple[int, ...] | None
    stop_reason: str | None
    text: str
    tool_use_count: int
    usage: TokenUsage | None = None

    @property
    def has_token_ids(self) -> bool:
        return self.prompt_token_ids is not None and self.token_ids is not None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (ids as lists), for training pipelines and recorded fixtures."""
        return {
            "index": self.index,
            "prompt_token_ids": None if self.prompt_token_ids is None else list(self.prompt_token_ids),
            "token_ids": None if self.token_ids is None else list(self.token_ids),
            "stop_reason": self.stop_reason,
            "text": self.text,
            "tool_use_count": self.tool_use_count,
            "usage": None
            if self.usage is None
            else {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens},
        }


def _token_ids(value: Any, *, field_name: str, call_index: int) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and all(
        isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value
    ):
        return tuple(value)
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    raise MalformedTokenIdsError(
        f"model call {call_index}: messageStop.additionalModelResponseFields.{field_name} must be a list of "
        f"non-negative ints, got {type(value).__name__} {shown}; the provider must pass vLLM's ids through unchanged"
    )


@dataclass
class _PendingCall:
    started: bool = False  # any event of this call seen since the previous messageStop
    text_parts: list[str] = field(default_factory=list)
    tool_use_count: int = 0
    usage: TokenUsage | None = None


class TokenRecorder:
    """An Agent callback handler that records token ids per model call.

    Usage::

        recorder = TokenRecorder(inner=PrintingCallbackHandler(), add_to_span=True)
        agent = Agent(model=VLLMModel(..., return_token_ids=True), callback_handler=recorder)
        agent("hi")
        recorder.history[-1].token_ids

    ``prompt_token_ids`` and ``token_ids`` are those of the latest call that carried ids; ``history``
    has one entry per model call (a call whose messageStop carried no ids gets an entry with None ids,
    so the history length always equals the number of model calls).
    """

    def __init__(self, inner: Callable[..., Any] | None = None, *, add_to_span: bool = False) -> None:
        self.inner = inner
        self.add_to_span = add_to_span
        self.history: list[ModelCallTokens] = []
        self._pending = _PendingCall()

    @property
    def prompt_token_ids(self) -> tuple[int, ...] | None:
        return next((call.prompt_token_ids for call in reversed(self.history) if call.prompt_token_ids), None)

    @property
    def token_ids(self) -> tuple[int, ...] | None:
        return next((call.token_ids for call in reversed(self.history) if call.token_ids is not None), None)

    def reset(self) -> None:
        """Forget every recorded call, e.g. between rollouts that reuse one recorder."""
        self.history = []
        self._pending = _PendingCall()

    def __call__(self, **kwargs: Any) -> None:
        if self.inner is not None:
            self.inner(**kwargs)
        event = kwargs.get("event")
        if isinstance(event, Mapping):
            self.record_event(event)

    def record_event(self, event: Mapping[str, Any]) -> None:
        """Consume one raw Strands stream event (also usable on ``Model.stream`` output without an Agent)."""
        if "metadata" in event:
            self._record_usage(event["metadata"])
            return
        if "messageStop" in event:
            self._finish_call(event["messageStop"])
            return
        self._pending.started = True
        if "contentBlockStart" in event:
            start = event["contentBlockStart"].get("start") or {}
            if "toolUse" in start:
                self._pending.tool_use_count += 1
        elif "contentBlockDelta" in event:
            text = (event["contentBlockDelta"].get("delta") or {}).get("text")
            if isinstance(text, str):
                self._pending.text_parts.append(text)

    def _finish_call(self, message_stop: Mapping[str, Any]) -> None:
        index = len(self.history)
        fields = message_stop.get("additionalModelResponseFields") or {}
        if not isinstance(fields, Mapping):
            raise MalformedTokenIdsError(
                f"model call {index}: messageStop.additionalModelResponseFields must be an object, "
                f"got {type(fields).__name__}"
            )
        call = ModelCallTokens(
            index=index,
            prompt_token_ids=_token_ids(fields.get("prompt_token_ids"), field_name="prompt_token_ids", call_index=index),
            token_ids=_token_ids(fields.get("token_ids"), field_name="token_ids", call_index=index),
            stop_reason=message_stop.get("stopReason"),
            text="".join(self._pending.text_parts),
            tool_use_count=self._pending.tool_use_count,
            usage=self._pending.usage,
        )
        self.history.append(call)
        self._pending = _PendingCall()
        if self.add_to_span and (call.prompt_token_ids is not None or call.token_ids is not None):
            _set_span_attributes(call.prompt_token_ids, call.token_ids)

    def _record_usage(self, metadata: Mapping[str, Any]) -> None:
        usage = metadata.get("usage")
        if not isinstance(usage, Mapping):
            return
        recorded = TokenUsage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
        # OpenAI-style streams send usage after the finish chunk, so after messageStop: it then
        # belongs to the call just finished; a provider that sends it earlier fills the pending call.
        if self.history and self.history[-1].usage is None and not self._pending.started:
            self.history[-1] = replace(self.history[-1], usage=recorded)
        else:
            self._pending.usage = recorded


def _set_span_attributes(prompt_token_ids: Sequence[int] | None, token_ids: Sequence[int] | None) -> None:
    span = trace_api.get_current_span()
    if not span.is_recording():
        return
    if prompt_token_ids is not None:
        span.set_attribute(SPAN_ATTRIBUTE_PROMPT_COUNT, len(prompt_token_ids))
        span.set_attribute(SPAN_ATTRIBUTE_PROMPT_IDS, list(prompt_token_ids))
    if token_ids is not None:
        span.set_attribute(SPAN_ATTRIBUTE_COMPLETION_COUNT, len(token_ids))
        span.set_attribute(SPAN_ATTRIBUTE_RESPONSE_IDS, list(token_ids))
