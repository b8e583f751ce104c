"""What a request body means, per wire: the request-shape checks assert meanings, not one wire's syntax.

Replay matches requests by case and order only, so the suite asserts separately that what the provider
sent means what the caller asked: these tools, this tool choice, this system prompt, these tool
results under these ids. A wire family registers a `RequestReader` turning its bodies into a
`RequestMeaning`; the checks compare meanings, so they hold for every wire without edits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["RequestMeaning", "RequestReader", "SentToolCall", "SentToolResult", "read_openai_chat_request"]


@dataclass(frozen=True)
class SentToolCall:
    call_id: str
    name: str
    input: Any


@dataclass(frozen=True)
class SentToolResult:
    call_id: str
    text: str


@dataclass
class RequestMeaning:
    tools: list[dict[str, Any]] = field(default_factory=list)  # {"name", "description", "parameters"}
    # "auto", "any", ("tool", name) or None (nothing sent); a single tool plus "any" also forces that tool.
    tool_choice: Any = None
    system_text: str | None = None
    system_messages: int = 0
    system_first: bool = True
    roles: list[str] = field(default_factory=list)  # conversation roles after the system prompt
    tool_calls: list[SentToolCall] = field(default_factory=list)
    tool_results: list[SentToolResult] = field(default_factory=list)
    streaming: bool = False
    usage_requested: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # sampling parameters as sent (temperature, ...)


class RequestReader(Protocol):
    def __call__(self, body: Any) -> RequestMeaning: ...


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def read_openai_chat_request(body: Any) -> RequestMeaning:
    """Read an OpenAI chat-completions request body."""
    if not isinstance(body, dict):
        raise ValueError(f"an openai-chat request body is a JSON object; got {type(body).__name__}: {body!r:.200}")
    meaning = RequestMeaning()
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        meaning.tools.append(
            {"type": tool.get("type"), "name": function.get("name"), "description": function.get("description"),
             "parameters": function.get("parameters")}
        )
    choice = body.get("tool_choice")
    if choice in ("auto", "none"):
        meaning.tool_choice = choice
    elif choice == "required":
        meaning.tool_choice = "any"
    elif isinstance(choice, dict) and choice.get("type") == "function":
        meaning.tool_choice = ("tool", (choice.get("function") or {}).get("name"))
    elif choice is not None:
        meaning.tool_choice = ("unreadable", choice)
    messages = body.get("messages") or []
    system = [number for number, message in enumerate(messages) if message.get("role") in ("system", "developer")]
    meaning.system_messages = len(system)
    meaning.system_first = not system or system == list(range(len(system)))
    if system:
        meaning.system_text = "\n".join(_text(messages[number].get("content")) for number in system)
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            continue
        meaning.roles.append(role)
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments") or ""
            meaning.tool_calls.append(
                SentToolCall(call.get("id"), function.get("name"), json.loads(arguments) if arguments.strip() else {})
            )
        if role == "tool":
            meaning.tool_results.append(SentToolResult(message.get("tool_call_id"), _text(message.get("content"))))
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = (body.get("stream_options") or {}).get("include_usage") is True
    meaning.params = {key: body[key] for key in ("temperature", "top_p", "max_tokens", "max_completion_tokens") if key in body}
    return meaning
