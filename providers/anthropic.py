"""Reference Strands provider for the Anthropic Messages API (`POST /v1/messages`, streamed as SSE).

Why it exists: the upstream `strands.models.anthropic.AnthropicModel` goes through the `anthropic`
SDK and passes `refusal` and `model_context_window_exceeded` through as stop reasons the Strands
loop does not know. This provider talks httpx directly (so cassettes replay in-process through
respx), decodes the SSE events itself, and maps every wire stop reason onto a Strands one.

Wire events (https://docs.anthropic.com/en/api/messages-streaming):
`message_start` -> (`content_block_start` -> `content_block_delta`* -> `content_block_stop`)* ->
`message_delta` (stop_reason, usage) -> `message_stop`; `ping` anywhere; `error` anywhere (then the
stream ends). Deltas: `text_delta`, `input_json_delta`, `thinking_delta`, `signature_delta`,
`citations_delta`.

Both local servers (llama.cpp and vLLM) speak this wire, so its cassettes are recorded, not written.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator
from typing import Any, TypedDict, cast

from strands.types.content import ContentBlock, Messages, SystemContentBlock
from strands.types.exceptions import ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice
from typing_extensions import Required, Unpack

from ._anthropic_wire import FINISH_WORDS, AnthropicStreamDecoder
from ._assembler import StreamAssembler
from ._error_boundary import ErrorBoundary
from ._forced_tool import StructuredOutputByTool
from ._model_base import Turn, checked_client_args
from ._sse import iter_sse_events
from ._wire_model import WireModel
from .errors import StreamServerError, overflow_markers

__all__ = ["AnthropicModel"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
CLIENT_ARG_KEYS = frozenset({"api_key", "base_url", "timeout", "default_headers", "max_retries"})


class AnthropicConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.anthropic.AnthropicModel.AnthropicConfig`."""

    context_window_limit: int | None
    cache_config: Any
    cache_tools: Any
    max_tokens: Required[int]
    model_id: Required[str]
    params: dict[str, Any] | None
    anthropic_tools: list[dict[str, Any]]
    use_native_token_count: bool


class AnthropicModel(StructuredOutputByTool, WireModel[AnthropicConfig]):
    """A Strands model over the Anthropic Messages SSE wire, talking httpx (the HTTP plumbing and the
    error boundary are the wire-neutral base's; the request and the decoder are Anthropic's).

    Args:
        client_args: as upstream (`api_key`, `base_url`, `timeout`, `default_headers`, `max_retries`);
            `base_url` may be a local server such as `http://127.0.0.1:8080`.
        **model_config: the keys of `AnthropicConfig` (`model_id` and `max_tokens` required).
    """

    CONFIG_KEYS = frozenset(AnthropicConfig.__annotations__)
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers("anthropic")
    _forced_tool_wire = "anthropic"  # structured output forces a tool: no JSON-schema answer mode here

    def __init__(self, *, client_args: dict[str, Any] | None = None, **model_config: Unpack[AnthropicConfig]):
        client_args = checked_client_args("AnthropicModel", client_args, sorted(CLIENT_ARG_KEYS))
        super().__init__(dict(model_config))
        for required in ("model_id", "max_tokens"):
            if required not in self.config:
                raise ValueError(f"AnthropicModel needs `{required}` (got configuration keys {sorted(self.config)})")
        self.client_args = client_args

    # -- HTTP hooks of the base ------------------------------------------------------------------

    def _chat_url(self) -> str:
        return f"{str(self.client_args.get('base_url') or DEFAULT_BASE_URL).rstrip('/')}/v1/messages"

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION, **(self.client_args.get("default_headers") or {})}
        if self.client_args.get("api_key"):
            headers["x-api-key"] = self.client_args["api_key"]
        return headers

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        # 529 overloaded_error (an HTTP status or an error event): Anthropic's "try again later", which
        # the loop retries like a 429. rate_limit_error is the common mapping's.
        if status == 529 or "overloaded_error" in raw:
            return ModelThrottledException(f"the server is overloaded ({status}): {message}")
        return None

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `POST /v1/messages` for one turn (always streamed)."""
        tool_choice = turn.tool_choice
        tools: list[dict[str, Any]] = [
            {"name": spec["name"], "description": spec["description"], "input_schema": spec["inputSchema"]["json"]}
            for spec in turn.tool_specs or []
        ]
        if tool_choice is None or "auto" in tool_choice:
            tools.extend(dict(tool) for tool in (self.config.get("anthropic_tools") or []))
        request: dict[str, Any] = {
            "model": self.config["model_id"],
            "max_tokens": self.config["max_tokens"],
            "messages": _format_messages(turn.messages),
            "stream": True,
        }
        system = _format_system(turn.system_prompt, turn.system_prompt_content)
        if system:
            request["system"] = system
        if tools:
            request["tools"] = tools
            if tool_choice:
                request["tool_choice"] = _format_tool_choice(tool_choice)
        request.update(self.config.get("params") or {})
        if request.get("stream") is not True:
            raise ValueError("AnthropicModel only streams: remove 'stream' from params")
        return request

    # -- stream ----------------------------------------------------------------------------------

    async def _exchange(
        self, request: dict[str, Any], asm: StreamAssembler, url: str, boundary: ErrorBoundary
    ) -> AsyncGenerator[StreamEvent, None]:
        """One assistant turn; a `pause_turn` is resumed here with another request, bounded, as the API asks."""
        decoder = AnthropicStreamDecoder(url, asm)
        for _attempt in range(MAX_PAUSE_TURN_CONTINUATIONS + 1):
            response = await boundary.open(self._open_stream(request))
            try:
                events = iter_sse_events(self._blocks(response, asm, url), url, self._max_event_bytes())
                async for event_name, data in events:
                    for event in decoder.feed(event_name, data):
                        yield event
            finally:
                await response.aclose()
            if not decoder.paused:
                for event in decoder.finish():
                    yield event
                return
            request = {**request, "messages": [*request["messages"], decoder.paused_assistant_message()]}
            decoder.resume()
        raise StreamServerError(
            f"the server at {url} answered stop_reason 'pause_turn' {MAX_PAUSE_TURN_CONTINUATIONS + 1} times in a row; "
            "gave up resuming the paused server-side tool turn"
        )


MAX_PAUSE_TURN_CONTINUATIONS = 5


def _format_system(
    system_prompt: str | None, system_prompt_content: list[SystemContentBlock] | None
) -> list[dict[str, Any]] | str | None:
    if system_prompt_content:
        blocks: list[dict[str, Any]] = []
        for block in system_prompt_content:
            if "text" in block:
                blocks.append({"type": "text", "text": block["text"]})
            elif "cachePoint" in block and blocks:
                blocks[-1]["cache_control"] = {"type": "ephemeral"}
        return blocks
    return system_prompt or None


def _format_tool_choice(tool_choice: ToolChoice) -> dict[str, Any]:
    if "any" in tool_choice:
        return {"type": "any"}
    if "auto" in tool_choice:
        return {"type": "auto"}
    if "tool" in tool_choice:
        return {"type": "tool", "name": tool_choice["tool"]["name"]}  # type: ignore[typeddict-item]
    raise ValueError(f"unsupported tool_choice {tool_choice!r}; use {{'auto': {{}}}}, {{'any': {{}}}} or {{'tool': ...}}")


def _format_messages(messages: Messages) -> list[dict[str, Any]]:
    formatted = []
    for message in messages:
        content: list[dict[str, Any]] = []
        for block in message["content"]:
            if "cachePoint" in block:
                if not content:
                    raise ValueError("AnthropicModel: a cachePoint must follow the block it caches; this one opens "
                                     f"a {message['role']} message")
                # Anthropic marks the end of the cached prefix on the block itself.
                content[-1]["cache_control"] = {"type": "ephemeral"}
                continue
            formatted_block = _format_block(block)
            if formatted_block is not None:
                content.append(formatted_block)
        if content:
            formatted.append({"role": message["role"], "content": content})
    return formatted


# Document formats Anthropic reads as text (a `text` source); PDF goes as base64, the rest are refused.
_TEXT_DOCUMENTS = ("txt", "md", "csv", "html")


def _format_document(document: dict[str, Any]) -> dict[str, Any]:
    data, doc_format = document["source"]["bytes"], document.get("format", "")
    if doc_format == "pdf":
        source = {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(data).decode()}
    elif doc_format in _TEXT_DOCUMENTS:
        source = {"type": "text", "media_type": "text/plain", "data": data.decode("utf-8")}
    else:
        raise TypeError(f"AnthropicModel: document format {doc_format!r} is not supported; Anthropic reads pdf "
                        f"and the text formats {', '.join(_TEXT_DOCUMENTS)}")
    return {"type": "document", "source": source, **({"title": document["name"]} if document.get("name") else {})}


def _format_block(block: ContentBlock) -> dict[str, Any] | None:
    if "text" in block:
        return {"type": "text", "text": block["text"]} if block["text"] else None
    if "toolUse" in block:
        tool_use = block["toolUse"]
        return {"type": "tool_use", "id": tool_use["toolUseId"], "name": tool_use["name"], "input": tool_use["input"]}
    if "toolResult" in block:
        result = block["toolResult"]
        return {
            "type": "tool_result",
            "tool_use_id": result["toolUseId"],
            "content": [_format_tool_result_item(item) for item in result["content"]],
            "is_error": result.get("status") == "error",
        }
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "redactedContent" in reasoning:
            return {"type": "redacted_thinking", "data": base64.b64encode(reasoning["redactedContent"]).decode()}
        text = reasoning.get("reasoningText", {})
        if not text.get("signature"):
            return None  # Anthropic rejects thinking without a signature (e.g. reasoning from another model family)
        return {"type": "thinking", "thinking": text.get("text", ""), "signature": text["signature"]}
    if "image" in block:
        image = block["image"]
        return {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": f"image/{image['format']}",
                "data": base64.b64encode(image["source"]["bytes"]).decode(),
            },
        }
    if "document" in block:
        return _format_document(cast(dict[str, Any], block["document"]))
    raise TypeError(f"AnthropicModel: content block {sorted(block)} is not supported by this provider")


def _format_tool_result_item(item: dict[str, Any]) -> dict[str, Any]:
    if "text" in item:
        return {"type": "text", "text": item["text"]}
    if "json" in item:
        return {"type": "text", "text": json.dumps(item["json"])}
    if "image" in item:
        return cast(dict[str, Any], _format_block(cast(ContentBlock, {"image": item["image"]})))
    raise TypeError(f"AnthropicModel: tool result item {sorted(item)} is not supported by this provider")
