"""The OpenAI chat-completions request, built from Strands' types, for every provider that sends it.

Why it exists apart from the stream loop: the chat-completions providers, LiteLLM (whose
``acompletion`` takes the same body) and Ollama (whose tools have the same shape) build requests
with these functions; none of them needs the chat stream loop or its HTTP plumbing to do so.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from strands.types.content import ContentBlock, Messages, SystemContentBlock
from strands.types.tools import ToolChoice, ToolSpec

from ._model_base import Turn

__all__ = ["chat_request", "format_messages", "format_tool_choice", "format_tools"]

_IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def _unsupported(kind: str, where: str) -> TypeError:
    return TypeError(
        f"content block {kind!r} in {where} is not supported by the OpenAI chat-completions providers; "
        "send text, images, toolUse or toolResult blocks"
    )


def _format_image(block: dict[str, Any]) -> dict[str, Any]:
    image_format = block["format"]
    mime = _IMAGE_MIME.get(image_format)
    if mime is None:
        raise TypeError(f"image format {image_format!r} is not supported; use one of {sorted(_IMAGE_MIME)}")
    data = base64.b64encode(block["source"]["bytes"]).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def _format_user_content(blocks: list[ContentBlock]) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if "text" in block:
            parts.append({"type": "text", "text": block["text"]})
        elif "image" in block:
            parts.append(_format_image(block["image"]))  # type: ignore[arg-type]
        elif "cachePoint" in block:
            continue  # a caching hint: the chat-completions format has no place for it
        else:
            raise _unsupported(next(iter(block)), "a user message")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _format_tool_result(result: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = []
    for item in result["content"]:
        if "text" in item:
            texts.append(item["text"])
        elif "json" in item:
            texts.append(json.dumps(item["json"], ensure_ascii=False))
        else:
            raise _unsupported(next(iter(item)), f"the result of tool call {result['toolUseId']!r}")
    return {"role": "tool", "tool_call_id": result["toolUseId"], "content": "\n".join(texts)}


def format_messages(
    messages: Messages,
    system_prompt: str | None = None,
    system_prompt_content: list[SystemContentBlock] | None = None,
) -> list[dict[str, Any]]:
    """Strands messages and system prompt -> the chat-completions ``messages`` array.

    The system prompt becomes one system message (chat templates such as Qwen's read only the
    first); tool results become ``tool`` messages placed before the rest of their user message.
    """
    formatted: list[dict[str, Any]] = []
    if system_prompt_content:
        system_texts = [block["text"] for block in system_prompt_content if "text" in block]
        if system_texts:
            formatted.append({"role": "system", "content": "\n".join(system_texts)})
    elif system_prompt:
        formatted.append({"role": "system", "content": system_prompt})

    for message in messages:
        role = message["role"]
        content = message["content"]
        if role == "assistant":
            texts: list[str] = []
            tool_calls: list[dict[str, Any]] = []
            for block in content:
                if "text" in block:
                    texts.append(block["text"])
                elif "toolUse" in block:
                    tool_use = block["toolUse"]
                    tool_calls.append(
                        {
                            "id": tool_use["toolUseId"],
                            "type": "function",
                            "function": {
                                "name": tool_use["name"],
                                "arguments": json.dumps(tool_use["input"], ensure_ascii=False),
                            },
                        }
                    )
                elif "reasoningContent" in block or "cachePoint" in block:
                    continue  # chat completions take no reasoning back; servers re-think each turn
                else:
                    raise _unsupported(next(iter(block)), "an assistant message")
            assistant: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
            if tool_calls:
                assistant["tool_calls"] = tool_calls
            elif not texts:
                continue
            formatted.append(assistant)
        elif role == "user":
            other: list[ContentBlock] = []
            for block in content:
                if "toolResult" in block:
                    formatted.append(_format_tool_result(block["toolResult"]))  # type: ignore[arg-type]
                else:
                    other.append(block)
            if other:
                formatted.append({"role": "user", "content": _format_user_content(other)})
        else:
            raise ValueError(f"message role {role!r} is not supported; expected 'user' or 'assistant'")
    return formatted


def format_tools(tool_specs: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": spec["name"],
                "description": spec["description"],
                "parameters": spec["inputSchema"]["json"],
            },
        }
        for spec in tool_specs
    ]


def format_tool_choice(tool_choice: ToolChoice) -> str | dict[str, Any]:
    if "auto" in tool_choice:
        return "auto"
    if "any" in tool_choice:
        return "required"
    if "tool" in tool_choice:
        return {"type": "function", "function": {"name": tool_choice["tool"]["name"]}}
    raise ValueError(
        f"tool_choice {tool_choice!r} is not one of {{'auto': {{}}}}, {{'any': {{}}}}, {{'tool': {{'name': ...}}}}"
    )


def chat_request(
    model_id: str,
    turn: Turn,
    *,
    format_choice: Callable[[ToolChoice], str | dict[str, Any] | None] = format_tool_choice,
    include_usage: bool = True,
) -> dict[str, Any]:
    """The streamed chat-completions body for one turn, before the provider's own fields.

    ``format_choice`` may return None to leave ``tool_choice`` out; ``include_usage`` False leaves
    out ``stream_options`` for servers that reject it.
    """
    request: dict[str, Any] = {
        "model": model_id,
        "messages": format_messages(turn.messages, turn.system_prompt, turn.system_prompt_content),
        "stream": True,
    }
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    if turn.tool_specs:
        request["tools"] = format_tools(turn.tool_specs)
        if turn.tool_choice:
            choice = format_choice(turn.tool_choice)
            if choice is not None:
                request["tool_choice"] = choice
    return request
