"""Reference Strands provider for Meta's Llama API (`POST /v1/chat/completions`, its own SSE events).

Why it exists: the request is OpenAI-shaped (built by `providers._chat_format`) but the stream is
not: each SSE data object is `{"event": {"event_type": start|progress|complete|metrics, "delta":
{"type": "text", "text"} | {"type": "tool_call", "id"?, "function": {"name"?, "arguments"?}},
"stop_reason": stop|tool_calls|length, "metrics": [{"metric": "num_prompt_tokens", "value"}, ...]}}`.
Upstream `LlamaAPIModel` buffers every tool call to the end of the stream and raises a KeyError
when a metric is missing; here deltas go through the shared `StreamAssembler` as they arrive.
Wire: the `llama-api-client` SDK's `CreateChatCompletionResponseStreamChunk` (the service itself
has been deprecated by Meta; the format is kept for the users still on it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import httpx
from strands.types.streaming import StreamEvent
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._error_boundary import reported_error
from ._forced_tool import StructuredOutputByTool
from ._chat_format import chat_request
from ._model_base import Turn, checked_client_args
from ._sse import iter_sse_events
from ._wire_model import WireModel
from .errors import MalformedStreamError, TruncatedStreamError, overflow_markers

__all__ = ["LlamaAPIModel"]

DEFAULT_BASE_URL = "https://api.llama.com/v1"
# stop_reason -> Strands stop reason (the OpenAI words).
FINISH_WORDS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
USAGE_METRICS = {"num_prompt_tokens": "input", "num_completion_tokens": "output", "num_total_tokens": "total"}


class LlamaConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.llamaapi.LlamaAPIModel.LlamaConfig`."""

    context_window_limit: int | None
    model_id: str
    repetition_penalty: float | None
    temperature: float | None
    top_p: float | None
    max_completion_tokens: int | None
    top_k: int | None


class LlamaAPIModel(StructuredOutputByTool, WireModel[LlamaConfig]):
    """A Strands model over the Llama API stream, talking httpx.

    Args:
        client_args: `api_key` (default: LLAMA_API_KEY), `base_url` (default https://api.llama.com/v1), `timeout`.
        **model_config: the keys of `LlamaConfig`.
    """

    CONFIG_KEYS = frozenset(LlamaConfig.__annotations__)
    MODEL_ID_EXAMPLE = "e.g. 'Llama-4-Maverick-17B-128E-Instruct-FP8'"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers("llamaapi")
    _forced_tool_wire = "llamaapi"  # upstream raises NotImplementedError for structured output

    def __init__(self, *, client_args: dict[str, Any] | None = None, **model_config: Unpack[LlamaConfig]) -> None:
        client_args = checked_client_args("LlamaAPIModel", client_args, ("api_key", "base_url", "timeout", "max_retries"))
        super().__init__(dict(model_config))
        self.client_args = client_args

    def _chat_url(self) -> str:
        return f"{str(self.client_args.get('base_url') or DEFAULT_BASE_URL).rstrip('/')}/chat/completions"

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _api_key(self) -> str | None:
        return self.client_args.get("api_key") or os.environ.get("LLAMA_API_KEY")

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The OpenAI-shaped body, without `stream_options`: the Llama API always sends a metrics event."""
        request = chat_request(self.config["model_id"], turn, include_usage=False)
        request.update(
            self._config_values(("repetition_penalty", "temperature", "top_p", "max_completion_tokens", "top_k"))
        )
        return request

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        calls = 0
        usage: dict[str, int] = {}
        complete = False
        for event in asm.start():
            yield event
        async for _name, data in iter_sse_events(self._blocks(response, asm, url), url, self._max_event_bytes()):
            if data == "[DONE]":
                break
            if not isinstance(data, dict):
                raise MalformedStreamError(f"data in the stream from {url} is not a JSON object: {str(data)[:300]}")
            if "error" in data:
                raise reported_error(data["error"], url)
            wire_event = data.get("event")
            if not isinstance(wire_event, dict) or "event_type" not in wire_event:
                raise MalformedStreamError(f"chunk from {url} has no event with an event_type: {str(data)[:300]}")
            delta = wire_event.get("delta") or {}
            kind = delta.get("type")
            if kind == "text":
                for event in asm.text(delta.get("text") or ""):
                    yield event
            elif kind == "tool_call":
                function = delta.get("function") or {}
                if delta.get("id"):
                    calls += 1
                    if calls > 1:  # calls never interleave on this wire: a new id ends the previous call
                        for event in asm.end_block():
                            yield event
                for event in asm.tool_call(
                    calls, id=delta.get("id"), name=function.get("name"), arguments=function.get("arguments")
                ):
                    yield event
            elif kind is not None:
                raise MalformedStreamError(f"delta type {kind!r} from {url} is not text or tool_call: {str(delta)[:300]}")
            if wire_event.get("stop_reason"):
                asm.set_finish_reason(wire_event["stop_reason"])
            for metric in wire_event.get("metrics") or ():
                name = USAGE_METRICS.get(metric.get("metric"))
                if name is not None:
                    usage[name] = int(metric["value"])
            if wire_event["event_type"] in ("complete", "metrics"):
                complete = True
        if not complete:
            raise TruncatedStreamError(
                f"the stream from {url} ended without a complete event: the server stopped mid-answer"
            )
        if usage:
            asm.set_usage(usage.get("input"), usage.get("output"), usage.get("total"))
        for event in asm.finish():
            yield event
