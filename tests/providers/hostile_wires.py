"""Each httpx wire's answer bodies, for the tests that feed every wire the same hostile stream.

One row per wire: how to build its model at ``BASE``, where it posts, its content type, and its
bytes for a tool call with given raw arguments and finish, or a text whose bytes are given raw
(invalid UTF-8 goes in as it is). The OpenAI chat core stands for every chat provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.written import anthropic as a, bedrock_converse as b, builders, llama_api as ll, ollama as o
from providers import AnthropicModel, BedrockModel, LlamaAPIModel, OllamaModel, VLLMModel
from providers._eventstream import encode_frame

from .wire import BASE, chunk, sse, usage_chunk

RAW = "@RAW@"  # stands for the raw bytes in a text built as JSON


@dataclass(frozen=True)
class HostileWire:
    name: str
    model: Callable[..., Any]  # keyword options of the model -> the model
    path: str
    content_type: str
    tool: Callable[[str, str], list[bytes]]  # raw arguments, wire finish word -> body
    text: Callable[[bytes], list[bytes]]  # raw text bytes -> body
    length_finish: str  # the wire's word for a token cut-off
    tool_finish: str  # its word for "the calls are complete"


def _swap(chunks: list[bytes], raw: bytes) -> list[bytes]:
    return [piece.replace(RAW.encode(), raw) for piece in chunks]


def _chat_tool(arguments: str, finish: str) -> list[bytes]:
    call = builders.call(0, "call_1", "weather", arguments)
    return sse(chunk(builders.tool_delta(call)), chunk({}, finish), usage_chunk())


def _chat_text(raw: bytes) -> list[bytes]:
    return _swap(sse(chunk({"content": RAW}), chunk({}, "stop"), usage_chunk()), raw)


def _anthropic_tool(arguments: str, finish: str) -> list[bytes]:
    return [a.a_start(), *a.a_tool(0, "toolu_1", "weather", arguments), *a.a_end(finish)]


def _anthropic_text(raw: bytes) -> list[bytes]:
    return _swap([a.a_start(), *a.a_text(0, RAW), *a.a_end("end_turn")], raw)


def _bedrock_tool(arguments: str, finish: str) -> list[bytes]:
    return [b.B_START, *b.b_tool(0, "tooluse_1", "weather", arguments), *b.b_end(finish)]


def _bedrock_text(raw: bytes) -> list[bytes]:
    # The frame carries a checksum: the raw bytes go into the payload before it is framed.
    headers = {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}
    payload = json.dumps({"contentBlockIndex": 0, "delta": {"text": RAW}}).encode().replace(RAW.encode(), raw)
    return [b.B_START, encode_frame(headers, payload), b.b_block("contentBlockStop", 0), *b.b_end("end_turn")]


def _ollama_tool(arguments: str, finish: str) -> list[bytes]:
    call = {"function": {"name": "weather", "arguments": arguments}}
    return [o.nd(tool_calls=[call]), o.nd_done(finish)]


def _ollama_text(raw: bytes) -> list[bytes]:
    return _swap([o.nd(RAW), o.nd_done("stop")], raw)


def _llama_tool(arguments: str, finish: str) -> list[bytes]:
    return ll.ll_tool(ll.ll_call("call_1", "weather", arguments), stop=finish).chunks


def _llama_text(raw: bytes) -> list[bytes]:
    return _swap(ll.ll_text(RAW).chunks, raw)


WIRES: dict[str, HostileWire] = {
    "chat": HostileWire(
        "chat", lambda **options: VLLMModel(base_url=f"{BASE}/v1", model_id="m", **options),
        "/v1/chat/completions", "text/event-stream", _chat_tool, _chat_text, "length", "tool_calls",
    ),
    "anthropic": HostileWire(
        "anthropic",
        lambda client_args=None, **options: AnthropicModel(
            client_args={"base_url": BASE, "api_key": "k", **(client_args or {})}, model_id="m", max_tokens=64, **options
        ),
        "/v1/messages", "text/event-stream", _anthropic_tool, _anthropic_text, "max_tokens", "tool_use",
    ),
    "bedrock": HostileWire(
        "bedrock", lambda **options: BedrockModel(endpoint_url=BASE, api_key="k", model_id="m", **options),
        "/model/m/converse-stream", "application/vnd.amazon.eventstream", _bedrock_tool, _bedrock_text,
        "max_tokens", "tool_use",
    ),
    "ollama": HostileWire(
        "ollama", lambda **options: OllamaModel(BASE, model_id="m", **options),
        "/api/chat", "application/x-ndjson", _ollama_tool, _ollama_text, "length", "stop",
    ),
    "llamaapi": HostileWire(
        "llamaapi",
        lambda client_args=None, **options: LlamaAPIModel(
            client_args={"base_url": f"{BASE}/v1", "api_key": "k", **(client_args or {})}, model_id="m", **options
        ),
        "/v1/chat/completions", "text/event-stream", _llama_tool, _llama_text, "length", "tool_calls",
    ),
}
