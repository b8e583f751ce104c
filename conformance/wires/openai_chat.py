"""OpenAI chat completions streamed as SSE (vLLM, llama.cpp, Neuron, OpenAI; Mistral, Writer, LiteLLM reuse it).

The one reading of chat-completion deltas inside the suite: `read_chat_stream` assembles the chunks, and
both the checks' expectation (`decode_openai_chat`) and the replay's non-streaming answer
(`chat_completion_from_stream`) are views of it, so they cannot disagree. Two rules decide what real
servers mean:
- a tool call's `name` arrives whole; a delta repeating it is the same name (vLLM and OpenAI send it once,
  llama.cpp may repeat it in every delta), so a later name replaces, never concatenates;
- a new `id` at an index already in use starts a new call (servers that put every call at index 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strands.models import Model

from conformance.wires._lines import DONE, sse_payloads
from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry, TimeoutOptions, server_root
from conformance.wires._types import (
    ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError, WireExpectation, WireFamily,
    blocks_text, json_object,
)

__all__ = [
    "CHAT_CONTENT", "NO_CITATIONS", "OPENAI_ONLY", "ChatStream", "chat_completion_from_stream", "decode_openai_chat", "read_chat_stream",
    "read_openai_chat_request", "read_tools_and_system"
]


@dataclass
class ChoiceState:
    """One choice's deltas, assembled."""

    content: str = ""
    reasoning_content: str = ""
    reasoning: str = ""  # vLLM >= 0.10 spells it delta.reasoning
    tool_calls: list[ExpectedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    by_index: dict[int, ExpectedToolCall] = field(default_factory=dict)

    def add(self, delta: Mapping[str, Any]) -> None:
        self.content += delta.get("content") or ""
        self.reasoning_content += delta.get("reasoning_content") or ""
        self.reasoning += delta.get("reasoning") or ""
        for item in delta.get("tool_calls") or ():
            index = item.get("index", 0)
            function = item.get("function") or {}
            current = self.by_index.get(index)
            new_id = item.get("id")
            if current is None or (new_id and current.call_id and new_id != current.call_id):
                current = ExpectedToolCall(None, None)
                self.by_index[index] = current
                self.tool_calls.append(current)
            current.call_id = new_id or current.call_id
            current.name = function.get("name") or current.name
            current.arguments += function.get("arguments") or ""


@dataclass
class ChatStream:
    """A chat-completion chunk stream, read once."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[int, ChoiceState] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    saw_done: bool = False
    # Payloads that are not chat.completion.chunk objects (an error object, another wire's events).
    foreign: list[tuple[int, Any]] = field(default_factory=list)


def read_chat_stream(body: bytes) -> ChatStream:
    stream = ChatStream()
    for number, payload in sse_payloads(body):
        if payload is DONE:
            stream.saw_done = True
            continue
        if not isinstance(payload, dict) or "error" in payload:
            stream.foreign.append((number, payload))
            continue
        if payload.get("object") != "chat.completion.chunk":
            stream.foreign.append((number, payload))
        stream.chunks.append(payload)
        stream.usage = payload.get("usage") or stream.usage
        for choice in payload.get("choices") or ():
            state = stream.choices.setdefault(choice.get("index", 0), ChoiceState())
            state.add(choice.get("delta") or {})
            if choice.get("finish_reason") is not None:
                state.finish_reason = choice["finish_reason"]
    return stream


def decode_openai_chat(body: bytes) -> WireExpectation:
    """Read an OpenAI chat-completions SSE body (one choice) into what a provider must reproduce."""
    stream = read_chat_stream(body)
    for number, payload in stream.foreign:
        if not isinstance(payload, dict) or "error" in payload:
            raise WireDecodeError(f"SSE line {number} carries an error: {json.dumps(payload)[:200]}")
    expectation = WireExpectation(saw_done=stream.saw_done)
    for state in stream.choices.values():
        expectation.text += state.content
        expectation.reasoning += state.reasoning_content + state.reasoning
        expectation.tool_calls += state.tool_calls
        expectation.finish_reason = state.finish_reason or expectation.finish_reason
    if isinstance(stream.usage, Mapping) and stream.usage:
        # As the reference core reads it: a null count is 0, and a missing total is the sum of the two.
        prompt = stream.usage.get("prompt_tokens") or 0
        completion = stream.usage.get("completion_tokens") or 0
        total = stream.usage.get("total_tokens")
        expectation.usage = {"inputTokens": prompt, "outputTokens": completion,
                             "totalTokens": prompt + completion if total is None else total,
                             **chat_cache_counts(stream.usage)}
    return expectation


def chat_cache_counts(usage: Mapping[str, Any]) -> dict[str, int]:
    """The cache shares of a chat-completions usage object, where non-zero: OpenAI's cached prompt tokens and
    the cache-write count that the LiteLLM proxy adds (both already inside prompt_tokens)."""
    read = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    write = usage.get("cache_creation_input_tokens")
    return {key: value for key, value in (("cacheReadInputTokens", read), ("cacheWriteInputTokens", write))
            if isinstance(value, int) and value > 0}


def chat_completion_from_stream(body: bytes) -> dict[str, Any] | None:
    """The `chat.completion` a server would have answered without streaming, from its recorded SSE chunks.

    None when the body is not a readable OpenAI chat-completion chunk stream: another wire's stream, or a
    broken one, is answered as recorded, so the provider meets what the cassette holds.
    """
    try:
        stream = read_chat_stream(body)
    except WireDecodeError:
        return None
    if not stream.chunks or stream.foreign:
        return None

    def message(state: ChoiceState) -> dict[str, Any]:
        built: dict[str, Any] = {"role": "assistant", "content": state.content or None}
        built |= {key: getattr(state, key) for key in ("reasoning_content", "reasoning") if getattr(state, key)}
        if state.tool_calls:
            built["tool_calls"] = [{"id": call.call_id, "type": "function",
                                    "function": {"name": call.name or "", "arguments": call.arguments}}
                                   for call in state.tool_calls]
        return built

    first = stream.chunks[0]
    completion: dict[str, Any] = {
        "id": first.get("id"), "object": "chat.completion", "created": first.get("created"), "model": first.get("model"),
        "choices": [{"index": index, "message": message(state), "finish_reason": state.finish_reason, "logprobs": None}
                    for index, state in sorted(stream.choices.items())],
    }
    if stream.usage is not None:
        completion["usage"] = stream.usage
    return completion


def read_tools_and_system(body: Mapping[str, Any], meaning: RequestMeaning,
                          system_roles: tuple[str, ...] = ("system", "developer")) -> list[dict[str, Any]]:
    """Read the function tools, the system messages and the roles of an OpenAI-shaped body (Ollama's
    /api/chat has the same ones) into `meaning`; return the conversation messages after the system ones."""
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        meaning.tools.append({"type": tool.get("type"), "name": function.get("name"),
                              "description": function.get("description"), "parameters": function.get("parameters")})
    messages = body.get("messages") or []
    system = [number for number, message in enumerate(messages) if message.get("role") in system_roles]
    meaning.system_messages = len(system)
    meaning.system_first = not system or system == list(range(len(system)))
    if system:
        meaning.system_text = "\n".join(blocks_text(messages[number].get("content")) for number in system)
    conversation = [message for message in messages if message.get("role") not in system_roles]
    meaning.roles = [message.get("role") for message in conversation]
    return conversation


def _read_parts(content: Any, meaning: RequestMeaning, prefix: str = "") -> None:
    """Note the image and file parts of a message's content (a string has none)."""
    if not isinstance(content, list):
        return
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image_url":
            meaning.content.append(prefix + "image")
            meaning.images.append(str((part.get("image_url") or {}).get("url", "")).partition("base64,")[2])
        elif kind == "file":
            meaning.content.append(prefix + "document")
        if isinstance(part, dict) and "cache_control" in part:
            meaning.content.append("cache_point")


def read_openai_chat_request(body: Any) -> RequestMeaning:
    """Read an OpenAI chat-completions request body."""
    body = json_object(body, "openai-chat")
    meaning = RequestMeaning()
    choice = body.get("tool_choice")
    if choice in ("auto", "none"):
        meaning.tool_choice = choice
    elif choice == "required":
        meaning.tool_choice = "any"
    elif isinstance(choice, dict) and choice.get("type") == "function":
        meaning.tool_choice = ("tool", (choice.get("function") or {}).get("name"))
    elif choice is not None:
        meaning.tool_choice = ("unreadable", choice)
    for message in read_tools_and_system(body, meaning):
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments") or ""
            meaning.tool_calls.append(
                SentToolCall(call.get("id"), function.get("name"), json.loads(arguments) if arguments.strip() else {})
            )
        if message.get("role") == "tool":
            meaning.tool_results.append(SentToolResult(message.get("tool_call_id"), blocks_text(message.get("content"))))
        if message.get("reasoning_content") or message.get("reasoning"):
            meaning.content.append("reasoning")
        _read_parts(message.get("content"), meaning, "tool_result_" if message.get("role") == "tool" else "")
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = (body.get("stream_options") or {}).get("include_usage") is True
    meaning.params = {key: body[key] for key in ("temperature", "top_p", "max_tokens", "max_completion_tokens") if key in body}
    return meaning


# Cases only this wire can express; the other wires skip them with these reasons.
OPENAI_ONLY = {
    "finish_function_call": "legacy OpenAI function_call finish reason",
    "reasoning_field": "vLLM's delta.reasoning spelling is OpenAI-chat only",
    "overflow_openai_code": "OpenAI's context_length_exceeded code",
    "tool_parallel_interleaved": "this wire streams one block at a time; calls cannot interleave",
    "tool_parallel_same_index": "OpenAI chat index reuse",
    "tool_late_id": "OpenAI chat ids in a later delta",
}

# What the chat-completions wires do with each content block (OpenAI's and the servers that copy its format).
_NO_REASONING_BACK = "chat completions take no reasoning back: servers think afresh each turn"
CHAT_CONTENT = {
    "image": ("send", "an image_url content part holding a base64 data URL"),
    "document": ("send_or_refuse", "OpenAI's `file` content part; most OpenAI-compatible servers take none"),
    "reasoning": ("omit", _NO_REASONING_BACK),
    "reasoning_unsigned": ("omit", _NO_REASONING_BACK),
    "cache_point": ("omit", "chat completions have no cache marks: servers cache shared prefixes themselves"),
    "tool_result_image": ("send_or_refuse", "a tool message holds text parts only"),
}
NO_CITATIONS = {"content_citations": "this wire's requests have no citation blocks"}

_STOP_REASONS = {
    "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
    "finish_content_filter": "content_filtered", "finish_function_call": "tool_use", "finish_null": "end_turn",
    "finish_unknown": "end_turn", "finish_stop_with_tool_calls": "tool_use", "finish_length_in_tool_call": "max_tokens",
}
# The finish reasons the other wires share with this one (all but the legacy function_call).
FINISH_STOP_REASONS = {case: reason for case, reason in _STOP_REASONS.items() if case != "finish_function_call"}

WIRE = WireFamily(
    name="openai-chat",
    api_prefix="/v1",
    decode=decode_openai_chat,
    read_request=read_openai_chat_request,
    description="OpenAI chat completions, streamed as SSE (vLLM, llama.cpp, Neuron, OpenAI, LiteLLM)",
    stop_reasons=_STOP_REASONS,
    unsupported=NO_CITATIONS,
    content=CHAT_CONTENT,
    request_schema="openai-chat.request.json",
)
EXTRA_CASES = ()


# -- reference providers ----------------------------------------------------------------------------------


def _params_for_neuron(params: Mapping[str, Any]) -> dict[str, Any]:
    # strands-neuron's documented configuration: named sampling keys, the rest in additional_args.
    named = {"temperature", "top_p", "stop", "frequency_penalty", "presence_penalty"}
    config: dict[str, Any] = {key: value for key, value in params.items() if key in named}
    if "max_tokens" in params:
        config["max_completion_tokens"] = params["max_tokens"]
    extra = {key: value for key, value in params.items() if key not in named and key != "max_tokens"}
    if extra:
        config["additional_args"] = extra
    return config


def neuron_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import NeuronModel

    return NeuronModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def vllm_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import VLLMModel

    return VLLMModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def llamacpp_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import LlamaCppModel

    # llama.cpp's provider takes the server root and adds /v1 itself; it has no API key.
    return LlamaCppModel(base_url=server_root(base_url, "/v1"), model_id=model_id, **config)


def openai_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                   **config: Any) -> Model:
    from providers import OpenAIModel

    return OpenAIModel(client_args={"base_url": base_url, "api_key": api_key, **(client_args or {})}, model_id=model_id,
                       **config)


def upstream_openai_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.openai import OpenAIModel

    return OpenAIModel(client_args={"base_url": base_url, "api_key": api_key}, model_id=model_id, **config)


def upstream_llamacpp_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.llamacpp import LlamaCppModel

    return LlamaCppModel(base_url=server_root(base_url, "/v1"), model_id=model_id, **config)


# Both take return_token_ids=True and then pass vLLM's ids on in messageStop (the token-id checks' contract).
neuron_factory.conformance_token_ids = True  # type: ignore[attr-defined]
vllm_factory.conformance_token_ids = True  # type: ignore[attr-defined]

# `upstream-*` wrap the SDK's own providers: not in the default matrix, but they show what the suite finds
# in the code the reference providers replace.
# The constructor's `timeout` (llama.cpp's, vLLM's, Neuron's) sets connect, read and the progress deadline.
TIMEOUT = TimeoutOptions("timeout (connect and read; also the default progress_timeout)",
                         lambda seconds: {"timeout": seconds})
PROVIDERS = (
    ProviderEntry("neuron", neuron_factory, ("vllm",), _params_for_neuron, timeouts=TIMEOUT),
    ProviderEntry("vllm", vllm_factory, ("vllm",), timeouts=TIMEOUT),
    ProviderEntry("llamacpp", llamacpp_factory, ("llamacpp",), timeouts=TIMEOUT),
    ProviderEntry("openai", openai_factory, ("vllm", "llamacpp"), timeouts=CLIENT_ARGS_TIMEOUT),
    ProviderEntry("upstream-openai", upstream_openai_factory, ("vllm", "llamacpp"), in_default_matrix=False),
    ProviderEntry("upstream-llamacpp", upstream_llamacpp_factory, ("llamacpp",), in_default_matrix=False),
)
