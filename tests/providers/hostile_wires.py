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

from botocore.config import Config

from conformance.written import anthropic as a, bedrock_converse as b, builders, llama_api as ll, ollama as o
from providers import AnthropicModel, BedrockModel, LlamaAPIModel, OllamaModel, VLLMModel
from providers._eventstream import encode_frame

from .wire import BASE, chunk, sse, usage_chunk

RAW = "@RAW@"  # stands for the raw bytes in a text built as JSON


@dataclass(frozen=True)
class HostileWire:
    name: str
    model: Callable[..., Any]  # keyword options of the model (``base``: the server root) -> the model
    path: str
    content_type: str
    tool: Callable[[str, str], list[bytes]]  # raw arguments, wire finish word -> body
    text: Callable[[bytes], list[bytes]]  # raw text bytes -> body
    length_finish: str  # the wire's word for a token cut-off
    tool_finish: str  # its word for "the calls are complete"
    timeout: Callable[[float], dict[str, Any]]  # seconds -> the model options of its upstream timeout
    head: bytes  # what the wire sends before any content
    ping: bytes  # a keep-alive that carries nothing
    empty: bytes  # an event or chunk without content


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


def _client_timeout(seconds: float) -> dict[str, Any]:
    return {"client_args": {"timeout": seconds}}


def _bedrock_timeout(seconds: float) -> dict[str, Any]:
    return {"boto_client_config": Config(read_timeout=seconds, connect_timeout=seconds)}


_EMPTY_CHAT = builders.sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []})
_EMPTY_BEDROCK = b.b_block("contentBlockDelta", 0, delta={"text": ""})

WIRES: dict[str, HostileWire] = {
    "chat": HostileWire(
        "chat", lambda base=BASE, **options: VLLMModel(base_url=f"{base}/v1", model_id="m", **options),
        "/v1/chat/completions", "text/event-stream", _chat_tool, _chat_text, "length", "tool_calls",
        lambda seconds: {"timeout": seconds}, b"", b": ping\n\n", _EMPTY_CHAT,
    ),
    "anthropic": HostileWire(
        "anthropic",
        lambda client_args=None, base=BASE, **options: AnthropicModel(
            client_args={"base_url": base, "api_key": "k", **(client_args or {})}, model_id="m", max_tokens=64, **options
        ),
        "/v1/messages", "text/event-stream", _anthropic_tool, _anthropic_text, "max_tokens", "tool_use",
        _client_timeout, a.a_start(), b": ping\n\n", a.event("ping", {"type": "ping"}),
    ),
    "bedrock": HostileWire(
        "bedrock", lambda base=BASE, **options: BedrockModel(endpoint_url=base, api_key="k", model_id="m", **options),
        "/model/m/converse-stream", "application/vnd.amazon.eventstream", _bedrock_tool, _bedrock_text,
        "max_tokens", "tool_use", _bedrock_timeout, b.B_START, _EMPTY_BEDROCK, _EMPTY_BEDROCK,
    ),
    "ollama": HostileWire(
        "ollama", lambda base=BASE, **options: OllamaModel(base, model_id="m", **options),
        "/api/chat", "application/x-ndjson", _ollama_tool, _ollama_text, "length", "stop",
        lambda seconds: {"ollama_client_args": {"timeout": seconds}}, b"", b"\n", o.nd(""),
    ),
    "llamaapi": HostileWire(
        "llamaapi",
        lambda client_args=None, base=BASE, **options: LlamaAPIModel(
            client_args={"base_url": f"{base}/v1", "api_key": "k", **(client_args or {})}, model_id="m", **options
        ),
        "/v1/chat/completions", "text/event-stream", _llama_tool, _llama_text, "length", "tool_calls",
        _client_timeout, ll.ll("start"), b": ping\n\n", ll.ll("progress", {"type": "text", "text": ""}),
    ),
}
