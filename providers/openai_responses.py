"""Reference Strands provider for the OpenAI Responses API (`POST /v1/responses`, streamed as SSE).

Why it exists: upstream `strands.models.openai_responses.OpenAIResponsesModel` goes through the openai
SDK with a new client per request, buffers every function call to the end of the response (no
argument streams to the agent), and drops reasoning blocks from the history with a warning. This
provider talks httpx directly (so cassettes replay in-process through respx), streams calls as they
arrive, and decodes the events in `providers._responses_wire`. vLLM and llama.cpp serve this API too.

The request: Strands messages become input items (`message` items with `input_text` / `input_image` /
`input_file` parts, `function_call` and `function_call_output` items), the system prompt becomes
`instructions`, tools are flat function tools, and `max_tokens` is `max_output_tokens`. Reasoning
blocks are not sent back: the API takes reasoning items only with the server's own encrypted content.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import httpx
import pydantic
from strands.types.content import ContentBlock, Messages, SystemContentBlock
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._model_base import Turn, checked_client_args
from ._responses_wire import FINISH_WORDS, ResponsesStreamDecoder
from ._sse import iter_sse_events
from ._wire_model import WireModel
from .errors import overflow_markers

__all__ = ["OpenAIResponsesModel"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CLIENT_ARG_KEYS = ("api_key", "base_url", "timeout", "default_headers", "organization", "project")
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
         "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html"}


class OpenAIResponsesConfig(TypedDict, total=False):
    """The configuration keys of upstream `OpenAIResponsesModel.OpenAIResponsesConfig` this provider honours."""

    model_id: str
    params: dict[str, Any] | None  # request fields: max_output_tokens, temperature, reasoning, ...


class OpenAIResponsesModel(WireModel[OpenAIResponsesConfig]):
    """A Strands model over the Responses API's SSE stream, talking httpx.

    Args:
        client_args: as the openai SDK's (`api_key`, `base_url`, `timeout`, `default_headers`,
            `organization`, `project`); `base_url` includes `/v1`, e.g. `http://127.0.0.1:8000/v1`.
        **model_config: `model_id` (required) and `params`.
    """

    CONFIG_KEYS = frozenset(OpenAIResponsesConfig.__annotations__)
    MODEL_ID_EXAMPLE = "a model name such as 'gpt-4o-mini'"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers()
    _max_tokens_fix = "raise params['max_output_tokens']"

    def __init__(self, client_args: dict[str, Any] | None = None, **model_config: Unpack[OpenAIResponsesConfig]):
        self.client_args = checked_client_args("OpenAIResponsesModel", client_args, CLIENT_ARG_KEYS)
        super().__init__(dict(model_config))

    # -- HTTP hooks of the base ------------------------------------------------------------------

    def _chat_url(self) -> str:
        base = self.client_args.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return f"{str(base).rstrip('/')}/responses"

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _api_key(self) -> str | None:
        return self.client_args.get("api_key") or os.environ.get("OPENAI_API_KEY")

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        for key, header in (("organization", "OpenAI-Organization"), ("project", "OpenAI-Project")):
            if self.client_args.get(key):
                headers[header] = self.client_args[key]
        headers.update(self.client_args.get("default_headers") or {})
        return headers

    def _structured_output_params(self, output_model: type[pydantic.BaseModel]) -> dict[str, Any]:
        """The Responses API's JSON-schema answer mode (`text.format`), the streamed text validated."""
        return {"text": {"format": {"type": "json_schema", "name": output_model.__name__,
                                    "schema": output_model.model_json_schema()}}}

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `POST /v1/responses` for one turn (always streamed, never stored)."""
        request: dict[str, Any] = {
            "model": self.config["model_id"],
            "input": format_input(turn.messages),
            "stream": True,
            "store": False,
        }
        instructions = _instructions(turn.system_prompt, turn.system_prompt_content)
        if instructions:
            request["instructions"] = instructions
        if turn.tool_specs:
            request["tools"] = [{"type": "function", "name": spec["name"], "description": spec.get("description", ""),
                                 "parameters": spec["inputSchema"]["json"]} for spec in turn.tool_specs]
            if turn.tool_choice:
                request["tool_choice"] = _format_tool_choice(turn.tool_choice)
        request.update(self.config.get("params") or {})
        if request.get("stream") is not True:
            raise ValueError("OpenAIResponsesModel only streams: remove 'stream' from params")
        return request

    # -- stream ----------------------------------------------------------------------------------

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        decoder = ResponsesStreamDecoder(url, asm)
        for event in asm.start():
            yield event
        async for event_name, data in iter_sse_events(self._blocks(response, asm, url), url, self._max_event_bytes()):
            for event in decoder.feed(event_name, data):
                yield event
        for event in decoder.finish():
            yield event


def _instructions(system_prompt: str | None, content: list[SystemContentBlock] | None) -> str | None:
    if content:
        return "\n".join(block["text"] for block in content if "text" in block) or None
    return system_prompt or None


def _format_tool_choice(tool_choice: ToolChoice) -> Any:
    if "auto" in tool_choice:
        return "auto"
    if "any" in tool_choice:
        return "required"
    if "tool" in tool_choice:
        return {"type": "function", "name": tool_choice["tool"]["name"]}  # type: ignore[typeddict-item]
    raise ValueError(f"unsupported tool_choice {tool_choice!r}; use {{'auto': {{}}}}, {{'any': {{}}}} or {{'tool': ...}}")


def _data_url(data: bytes, file_format: str, kind: str) -> str:
    mime = _MIME.get(file_format)
    if mime is None:
        raise TypeError(f"OpenAIResponsesModel: {kind} format {file_format!r} is not supported; use one of {sorted(_MIME)}")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _media_part(block: dict[str, Any]) -> dict[str, Any] | None:
    """An `input_image` or `input_file` part for an image or document block; None for any other block."""
    if "image" in block:
        image = block["image"]
        return {"type": "input_image", "image_url": _data_url(image["source"]["bytes"], image["format"], "image")}
    if "document" in block:
        document = block["document"]
        name, suffix = document.get("name") or "document", f".{document['format']}"
        return {"type": "input_file", "filename": name if name.endswith(suffix) else name + suffix,
                "file_data": _data_url(document["source"]["bytes"], document["format"], "document")}
    return None


def _block_text(block: ContentBlock) -> str | None:
    if "text" in block:
        return block["text"]
    if "citationsContent" in block:  # the cited answer's text; the API takes no citations back
        return "".join(part.get("text", "") for part in block["citationsContent"].get("content", []))
    return None


def _tool_output(result: dict[str, Any]) -> str | list[dict[str, Any]]:
    """A function_call_output's `output`: a string, or input parts when the result holds media."""
    parts: list[dict[str, Any]] = []
    for item in result["content"]:
        if "text" in item or "json" in item:
            parts.append({"type": "input_text",
                          "text": item["text"] if "text" in item else json.dumps(item["json"], ensure_ascii=False)})
        elif (media := _media_part(item)) is not None:
            parts.append(media)
        else:
            raise TypeError(f"OpenAIResponsesModel: tool result item {sorted(item)} is not supported")
    if all(part["type"] == "input_text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def format_input(messages: Messages) -> list[dict[str, Any]]:
    """Strands messages as Responses input items, in order (a message's calls and results after its text)."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for block in message["content"]:
            text = _block_text(block)
            if text is not None:
                if text:
                    parts.append({"type": "input_text", "text": text})
            elif "toolUse" in block:
                tool_use = block["toolUse"]
                calls.append({"type": "function_call", "call_id": tool_use["toolUseId"], "name": tool_use["name"],
                              "arguments": json.dumps(tool_use["input"], ensure_ascii=False)})
            elif "toolResult" in block:
                result = block["toolResult"]
                calls.append({"type": "function_call_output", "call_id": result["toolUseId"],
                              "output": _tool_output(dict(result))})
            elif "reasoningContent" in block or "cachePoint" in block:
                continue  # reasoning goes back only as the server's encrypted item; no cache marks on this API
            elif role == "user" and (media := _media_part(dict(block))) is not None:
                parts.append(media)
            else:
                raise TypeError(f"OpenAIResponsesModel: content block {sorted(block)} in a {role} message is not "
                                "supported; send text, images and documents (user), toolUse or toolResult blocks")
        if parts and role == "assistant":
            # The string form: an assistant item with output_text parts would need the server's item id.
            items.append({"type": "message", "role": role, "content": "\n".join(part["text"] for part in parts)})
        elif parts:
            items.append({"type": "message", "role": role, "content": parts})
        items.extend(calls)
    return items
