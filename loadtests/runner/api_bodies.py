"""The workloads' request bodies in the shape of each API: one workload, one meaning, three request shapes.

Workloads are built once, as chat-completions bodies (workloads.py); `shape_body` writes the same
conversation, tools, tool choice, output schema and output length as a Responses API or Anthropic Messages
request. Chat-only extensions (vLLM's continuous usage and token ids) are dropped: both APIs report
usage in their final events anyway.
"""

from __future__ import annotations

import json
from typing import Any

# Workloads an API cannot express on the servers we test: refused before the run, never run into failures.
UNSUPPORTED = {("messages", "json"): "the Anthropic Messages API of vLLM and llama.cpp takes no JSON schema for the "
                                     "output (no response_format there); run the json workload with --api chat or "
                                     "--api responses"}
_CHAT_ONLY = ("messages", "stream_options", "return_token_ids", "max_tokens", "tools", "tool_choice", "response_format")


def unsupported(api: str, workloads: list[str]) -> str | None:
    """Why one of these workloads cannot run on `api`, naming both, or None."""
    for workload in workloads:
        why = UNSUPPORTED.get((api, workload))
        if why:
            return f"the {workload} workload cannot run with --api {api}: {why}"
    return None


def shape_body(api: str, chat: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions body `chat` as a request of `api` ("chat" returns it as it is)."""
    if api == "chat":
        return chat
    body = {key: value for key, value in chat.items() if key not in _CHAT_ONLY}
    system = [m["content"] for m in chat["messages"] if m["role"] == "system"]
    turns = [m for m in chat["messages"] if m["role"] != "system"]
    tools = [tool["function"] for tool in chat.get("tools") or []]
    choice = chat.get("tool_choice")
    if api == "responses":
        body["max_output_tokens"] = chat["max_tokens"]
        if system:
            body["instructions"] = "\n".join(system)
        body["input"] = [item for message in turns for item in _responses_items(message)]
        if tools:
            body["tools"] = [{"type": "function", **tool} for tool in tools]
        if choice:
            body["tool_choice"] = choice
        fmt = chat.get("response_format")
        if fmt:
            spec = fmt["json_schema"]
            body["text"] = {"format": {"type": "json_schema", "name": spec["name"], "schema": spec["schema"],
                                       "strict": spec.get("strict", False)}}
        return body
    if api == "messages":
        if chat.get("response_format"):
            raise ValueError(UNSUPPORTED[("messages", "json")])
        body["max_tokens"] = chat["max_tokens"]
        if system:
            body["system"] = "\n".join(system)
        body["messages"] = [_anthropic_message(message) for message in turns]
        if tools:
            body["tools"] = [{"name": t["name"], "description": t.get("description", ""), "input_schema": t["parameters"]}
                             for t in tools]
        if choice:
            body["tool_choice"] = {"type": {"required": "any"}.get(choice, choice)}
        return body
    raise ValueError(f"unknown API {api!r}")


def _responses_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    if message["role"] == "tool":
        return [{"type": "function_call_output", "call_id": message["tool_call_id"], "output": message["content"]}]
    if message.get("tool_calls"):
        return [{"type": "function_call", "call_id": call["id"], "name": call["function"]["name"],
                 "arguments": call["function"]["arguments"]} for call in message["tool_calls"]]
    return [{"type": "message", "role": message["role"], "content": message["content"]}]


def _anthropic_message(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] == "tool":
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": message["tool_call_id"],
                                             "content": message["content"]}]}
    if message.get("tool_calls"):
        return {"role": "assistant", "content": [
            {"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
             "input": json.loads(call["function"]["arguments"])} for call in message["tool_calls"]]}
    return {"role": message["role"], "content": message["content"]}
