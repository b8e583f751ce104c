"""Reference Strands provider for Meta's Llama API (`POST /v1/chat/completions`, its own SSE events).

Why it exists: the request is OpenAI-shaped (the chat core's formatting is reused) but the stream is
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
import time
from collections.abc import AsyncGenerator
from typing import Any, TypedDict, TypeVar

import pydantic
from strands.types.content import Messages, SystemContentBlock
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._forced_tool import structured_output_by_tool
from ._openai_chat import OpenAIChatModel
from ._sse import iter_sse_events
from .errors import CONTEXT_OVERFLOW_MARKERS, MalformedStreamError, TruncatedStreamError

__all__ = ["LlamaAPIModel"]

T = TypeVar("T", bound=pydantic.BaseModel)
DEFAULT_BASE_URL = "https://api.llama.com/v1"
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


class LlamaAPIModel(OpenAIChatModel):
    """A Strands model over the Llama API stream, talking httpx.

    Args:
        client_args: `api_key` (default: LLAMA_API_KEY), `base_url` (default https://api.llama.com/v1), `timeout`.
        **model_config: the keys of `LlamaConfig`.
    """

    CONFIG_KEYS = frozenset(LlamaConfig.__annotations__)
    _overflow_markers = (*CONTEXT_OVERFLOW_MARKERS, "exceed context limit", "model's maximum context limit")

    def __init__(self, *, client_args: dict[str, Any] | None = None, **model_config: Unpack[LlamaConfig]) -> None:
        client_args = dict(client_args or {})
        unknown = sorted(set(client_args) - {"api_key", "base_url", "timeout", "max_retries"})
        if unknown:
            raise ValueError(f"LlamaAPIModel has no client_args {unknown}; valid: api_key, base_url, timeout, max_retries")
        super().__init__(dict(model_config))
        if "model_id" not in self.config:
            raise ValueError("LlamaAPIModel needs `model_id` (e.g. 'Llama-4-Maverick-17B-128E-Instruct-FP8')")
        self.client_args = client_args

    def update_config(self, **model_config: Unpack[LlamaConfig]) -> None:  # type: ignore[override]
        super().update_config(**model_config)

    def get_config(self) -> LlamaConfig:  # type: ignore[override]
        return LlamaConfig(**self.config)  # type: ignore[typeddict-item]

    def _chat_url(self) -> str:
        return f"{str(self.client_args.get('base_url') or DEFAULT_BASE_URL).rstrip('/')}/chat/completions"

    def _headers(self) -> dict[str, str]:
        api_key = self.client_args.get("api_key") or os.environ.get("LLAMA_API_KEY")
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _request_params(self) -> dict[str, Any]:
        keys = ("repetition_penalty", "temperature", "top_p", "max_completion_tokens", "top_k")
        return {key: self.config[key] for key in keys if self.config.get(key) is not None}

    def format_request(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        tool_choice: ToolChoice | None = None,
        system_prompt_content: list[SystemContentBlock] | None = None,
    ) -> dict[str, Any]:
        request = super().format_request(messages, tool_specs, system_prompt, tool_choice, system_prompt_content)
        request.pop("stream_options", None)  # the Llama API always sends a metrics event instead
        return request

    async def stream(  # type: ignore[override]
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        system_prompt_content: list[SystemContentBlock] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        request = self.format_request(messages, tool_specs, system_prompt, tool_choice, system_prompt_content)
        asm = StreamAssembler(started_at=time.perf_counter())
        url = self._chat_url()
        response = await self._open_stream(request)
        calls = 0
        usage: dict[str, int] = {}
        complete = False
        try:
            for event in asm.start():
                yield event
            async for _name, data in iter_sse_events(response, url):
                if data == "[DONE]":
                    break
                if not isinstance(data, dict):
                    raise MalformedStreamError(f"data in the stream from {url} is not a JSON object: {str(data)[:300]}")
                if "error" in data:
                    raise self._stream_error(data["error"], url)
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
        finally:
            await response.aclose()

    async def structured_output(  # type: ignore[override]
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Force a tool shaped like `output_model` (upstream raises NotImplementedError here)."""
        async for event in structured_output_by_tool(
            "llamaapi",
            output_model,
            lambda tools, choice: self.stream(prompt, tools, system_prompt, tool_choice=choice, **kwargs),  # type: ignore[arg-type]
        ):
            yield event
