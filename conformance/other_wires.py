"""The wire families beyond OpenAI chat (issue 5): their reference decoders, stop tables, the cases
only they have, and their reference providers, registered with the suite's registries.

Why a module of its own: `conformance/wires.py` and `conformance/targets.py` hold the core's
registries; each wire here is one `register_wire(...)` plus a decoder that reads the response bytes
independently of any provider (plain and strict: a byte it cannot read is a broken cassette).
Imported once, at the end of `conformance/wires.py`.

Each wire also has a request reader (`conformance.request_meaning`): the request-shape checks
compare what the body means, so they hold for these bodies too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conformance.cases import CASES, Case, user
from conformance.expectations import ExpectedToolCall, WireDecodeError, WireExpectation, decode_openai_chat
from conformance.request_meaning import RequestMeaning, SentToolCall, SentToolResult, read_openai_chat_request
from conformance.targets import REFERENCE_PROVIDERS, ProviderEntry
from conformance.wires import RECORDINGS_DIR, WireFamily, register_wire

__all__ = [
    "decode_anthropic",
    "decode_bedrock_converse",
    "decode_llama_api",
    "decode_ollama",
    "read_anthropic_request",
    "read_bedrock_converse_request",
    "read_ollama_request",
]


# -- reference decoders ---------------------------------------------------------------------------------


def _sse_data(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireDecodeError(f"SSE body is not UTF-8 at byte {exc.start}") from exc
    payloads = []
    for number, line in enumerate(text.splitlines()):
        if not line.startswith("data:"):
            if line.strip() and not line.startswith((":", "event:", "id:", "retry:")):
                raise WireDecodeError(f"SSE line {number} is not a field: {line[:120]!r}")
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            continue
        try:
            payloads.append(json.loads(data))
        except ValueError as exc:
            raise WireDecodeError(f"SSE line {number} is not JSON: {data[:120]!r}") from exc
    return payloads


def decode_anthropic(body: bytes) -> WireExpectation:
    """Anthropic Messages SSE: text, thinking, tool_use blocks, the stop_reason and the token counts."""
    expectation = WireExpectation()
    blocks: dict[int, ExpectedToolCall] = {}
    usage: dict[str, int] = {}
    for event in _sse_data(body):
        kind = event.get("type")
        if kind == "error":
            raise WireDecodeError(f"the stream carries an error event: {event}")
        if kind == "message_start":
            usage.update({key: value for key, value in (event["message"].get("usage") or {}).items()
                          if isinstance(value, int)})
        elif kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                call = ExpectedToolCall(block["id"], block["name"])
                blocks[event["index"]] = call
                expectation.tool_calls.append(call)
            elif block["type"] == "text":
                expectation.text += block.get("text") or ""
        elif kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                expectation.text += delta["text"]
            elif delta["type"] == "thinking_delta":
                expectation.reasoning += delta["thinking"]
            elif delta["type"] == "input_json_delta":
                blocks[event["index"]].arguments += delta["partial_json"]
        elif kind == "message_delta":
            if event["delta"].get("stop_reason") is not None:
                expectation.finish_reason = event["delta"]["stop_reason"]
            usage.update({key: value for key, value in (event.get("usage") or {}).items() if isinstance(value, int)})
        elif kind == "message_stop":
            expectation.saw_done = True
    if "input_tokens" in usage and "output_tokens" in usage:
        total_input = usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) + usage.get(
            "cache_creation_input_tokens", 0)
        # Strands' inputTokens is the whole prompt: Anthropic's input_tokens plus the cached share.
        expectation.usage = {"inputTokens": total_input, "outputTokens": usage["output_tokens"],
                             "totalTokens": total_input + usage["output_tokens"]}
        cached = {key: usage[wire] for key, wire in (("cacheReadInputTokens", "cache_read_input_tokens"),
                                                     ("cacheWriteInputTokens", "cache_creation_input_tokens"))
                  if usage.get(wire)}
        if cached:  # strands' AnthropicModel keeps input_tokens as sent and the cached share apart
            expectation.usage_also.append({"inputTokens": usage["input_tokens"], "outputTokens": usage["output_tokens"],
                                           "totalTokens": total_input + usage["output_tokens"], **cached})
    return expectation


def decode_ollama(body: bytes) -> WireExpectation:
    """Ollama /api/chat NDJSON: content, thinking, whole tool calls (no ids on this wire), done_reason, counts."""
    expectation = WireExpectation()
    for number, line in enumerate(body.decode("utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            chunk = json.loads(line)
        except ValueError as exc:
            raise WireDecodeError(f"NDJSON line {number} is not JSON: {line[:120]!r}") from exc
        if "error" in chunk:
            raise WireDecodeError(f"NDJSON line {number} carries an error: {line[:200]}")
        message = chunk.get("message") or {}
        expectation.text += message.get("content") or ""
        expectation.reasoning += message.get("thinking") or ""
        for call in message.get("tool_calls") or ():
            arguments = call["function"].get("arguments", {})
            expectation.tool_calls.append(ExpectedToolCall(
                call.get("id"), call["function"]["name"], arguments if isinstance(arguments, str) else json.dumps(arguments)))
        if chunk.get("done"):
            expectation.saw_done = True
            expectation.finish_reason = chunk.get("done_reason")
            if "prompt_eval_count" in chunk or "eval_count" in chunk:
                prompt, completion = chunk.get("prompt_eval_count", 0), chunk.get("eval_count", 0)
                expectation.usage = {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}
    return expectation


def decode_bedrock_converse(body: bytes) -> WireExpectation:
    """Bedrock ConverseStream frames (botocore's event-stream parser): text, reasoning, tool use, stopReason, usage."""
    from botocore.eventstream import EventStreamBuffer

    expectation = WireExpectation()
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    calls: dict[int, ExpectedToolCall] = {}
    for message in buffer:
        headers = message.headers
        if headers.get(":message-type") != "event":
            raise WireDecodeError(f"the stream carries {headers.get(':exception-type') or headers}")
        payload = json.loads(message.payload or b"{}")
        name = headers[":event-type"]
        if name == "contentBlockStart" and "toolUse" in (payload.get("start") or {}):
            tool = payload["start"]["toolUse"]
            calls[payload["contentBlockIndex"]] = ExpectedToolCall(tool["toolUseId"], tool["name"])
            expectation.tool_calls.append(calls[payload["contentBlockIndex"]])
        elif name == "contentBlockDelta":
            delta = payload["delta"]
            expectation.text += delta.get("text") or ""
            expectation.reasoning += (delta.get("reasoningContent") or {}).get("text") or ""
            if "toolUse" in delta:
                calls[payload["contentBlockIndex"]].arguments += delta["toolUse"].get("input") or ""
        elif name == "messageStop":
            expectation.finish_reason = payload.get("stopReason")
            expectation.saw_done = True
        elif name == "metadata" and payload.get("usage"):
            usage = payload["usage"]
            expectation.usage = {key: usage[key] for key in ("inputTokens", "outputTokens", "totalTokens")}
    return expectation


def decode_llama_api(body: bytes) -> WireExpectation:
    """Llama API SSE events: text and tool_call deltas (a new id starts a call), stop_reason, num_*_tokens metrics."""
    expectation = WireExpectation()
    metrics: dict[str, int] = {}
    current: ExpectedToolCall | None = None
    for payload in _sse_data(body):
        event = payload["event"]
        delta = event.get("delta") or {}
        if delta.get("type") == "text":
            expectation.text += delta.get("text") or ""
        elif delta.get("type") == "tool_call":
            function = delta.get("function") or {}
            if delta.get("id") or current is None:
                current = ExpectedToolCall(delta.get("id"), function.get("name"))
                expectation.tool_calls.append(current)
            current.arguments += function.get("arguments") or ""
        if event.get("stop_reason"):
            expectation.finish_reason = event["stop_reason"]
        for metric in event.get("metrics") or ():
            metrics[metric["metric"]] = int(metric["value"])
        if event["event_type"] in ("complete", "metrics"):
            expectation.saw_done = True
    if {"num_prompt_tokens", "num_completion_tokens"} <= set(metrics):
        expectation.usage = {"inputTokens": metrics["num_prompt_tokens"], "outputTokens": metrics["num_completion_tokens"],
                             "totalTokens": metrics.get("num_total_tokens",
                                                        metrics["num_prompt_tokens"] + metrics["num_completion_tokens"])}
    return expectation


# -- request readers --------------------------------------------------------------------------------------


def _object(body: Any, wire: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError(f"a {wire} request body is a JSON object; got {type(body).__name__}: {str(body)[:200]}")
    return body


def _blocks_text(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    return "".join(block.get("text", "") for block in blocks or () if isinstance(block, dict))


def read_anthropic_request(body: Any) -> RequestMeaning:
    """Read an Anthropic Messages request body (usage is always in the stream, so it counts as requested)."""
    body = _object(body, "anthropic")
    meaning = RequestMeaning()
    for tool in body.get("tools") or []:
        meaning.tools.append({"type": "function", "name": tool.get("name"), "description": tool.get("description"),
                              "parameters": tool.get("input_schema")})
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        meaning.tool_choice = {"auto": "auto", "any": "any", "none": "none"}.get(kind) or (
            ("tool", choice.get("name")) if kind == "tool" else ("unreadable", choice))
    if body.get("system") is not None:
        meaning.system_messages = 1
        meaning.system_text = _blocks_text(body["system"])
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        results = [block for block in blocks if block.get("type") == "tool_result"]
        meaning.roles.append("tool" if results and len(results) == len(blocks) else message.get("role"))
        for block in blocks:
            if block.get("type") == "tool_use":
                meaning.tool_calls.append(SentToolCall(block.get("id"), block.get("name"), block.get("input")))
            elif block.get("type") == "tool_result":
                meaning.tool_results.append(SentToolResult(block.get("tool_use_id"), _blocks_text(block.get("content"))))
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True
    meaning.params = {key: body[key] for key in ("temperature", "top_p", "max_tokens") if key in body}
    return meaning


def read_bedrock_converse_request(body: Any) -> RequestMeaning:
    """Read a Bedrock Converse request body (ConverseStream always sends a metadata event with usage)."""
    body = _object(body, "bedrock-converse")
    meaning = RequestMeaning()
    tool_config = body.get("toolConfig") or {}
    for tool in tool_config.get("tools") or []:
        spec = tool.get("toolSpec")
        if spec:
            meaning.tools.append({"type": "function", "name": spec.get("name"), "description": spec.get("description"),
                                  "parameters": (spec.get("inputSchema") or {}).get("json")})
    choice = tool_config.get("toolChoice")
    if isinstance(choice, dict):
        if "auto" in choice:
            meaning.tool_choice = "auto"
        elif "any" in choice:
            meaning.tool_choice = "any"
        elif "tool" in choice:
            meaning.tool_choice = ("tool", choice["tool"].get("name"))
        else:
            meaning.tool_choice = ("unreadable", choice)
    if body.get("system"):
        meaning.system_messages = 1
        meaning.system_text = _blocks_text(body["system"])
    for message in body.get("messages") or []:
        blocks = message.get("content") or []
        results = [block for block in blocks if "toolResult" in block]
        meaning.roles.append("tool" if results and len(results) == len(blocks) else message.get("role"))
        for block in blocks:
            if "toolUse" in block:
                use = block["toolUse"]
                meaning.tool_calls.append(SentToolCall(use.get("toolUseId"), use.get("name"), use.get("input")))
            elif "toolResult" in block:
                result = block["toolResult"]
                text = "".join(item.get("text", "") if "text" in item else json.dumps(item.get("json"))
                               for item in result.get("content") or ())
                meaning.tool_results.append(SentToolResult(result.get("toolUseId"), text))
    meaning.streaming = True  # the converse-stream operation is the streaming one
    meaning.usage_requested = True
    inference = body.get("inferenceConfig") or {}
    meaning.params = {name: inference[key] for key, name in (("temperature", "temperature"), ("topP", "top_p"),
                                                             ("maxTokens", "max_tokens")) if key in inference}
    return meaning


def read_ollama_request(body: Any) -> RequestMeaning:
    """Read an Ollama /api/chat body: no tool ids on this wire, so calls and results pair by order and name."""
    body = _object(body, "ollama")
    meaning = RequestMeaning()
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        meaning.tools.append({"type": tool.get("type"), "name": function.get("name"),
                              "description": function.get("description"), "parameters": function.get("parameters")})
    messages = body.get("messages") or []
    system = [number for number, message in enumerate(messages) if message.get("role") == "system"]
    meaning.system_messages = len(system)
    meaning.system_first = not system or system == list(range(len(system)))
    if system:
        meaning.system_text = "\n".join(messages[number].get("content") or "" for number in system)
    for message in messages:
        if message.get("role") == "system":
            continue
        meaning.roles.append(message.get("role"))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            meaning.tool_calls.append(SentToolCall(call.get("id"), function.get("name"), function.get("arguments")))
        if message.get("role") == "tool":
            meaning.tool_results.append(SentToolResult(message.get("tool_call_id"), message.get("content") or ""))
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True  # the final line always carries the counts the server has
    options = body.get("options") or {}
    meaning.params = {name: options[key] for key, name in (("temperature", "temperature"), ("top_p", "top_p"),
                                                           ("num_predict", "max_tokens")) if key in options}
    return meaning


def read_always_usage_chat_request(body: Any) -> RequestMeaning:
    """OpenAI-shaped bodies of vendors that always send usage (Mistral, Llama API); `any` is Mistral's required."""
    meaning = read_openai_chat_request(body)
    if body.get("tool_choice") == "any":
        meaning.tool_choice = "any"
    meaning.usage_requested = True
    return meaning


# -- wire-only cases (requests as the plain text or tool case; the quirk is in the answer) -----------------

_TEXT = CASES["text_basic"].messages
_TOOL = CASES["tool_single"]


def _extra_case(name: str, title: str, tool: bool = False) -> None:
    if name in CASES:
        return
    if tool:
        CASES[name] = Case(name, title, _TOOL.messages, tool_specs=_TOOL.tool_specs)
    else:
        CASES[name] = Case(name, title, _TEXT, params={"max_tokens": 24, "temperature": 0.0})


for _name, _title, _tool in (
    ("finish_pause_turn", "Anthropic stop_reason pause_turn: the paused turn is resumed", False),
    ("finish_model_context_window_exceeded", "stop reason model_context_window_exceeded (answer cut by the window)", False),
    ("finish_stop_sequence", "stop reason stop_sequence", False),
    ("finish_guardrail_intervened", "Bedrock guardrail_intervened with a BLOCKED trace: redactContent emitted", False),
    ("finish_model_length", "Mistral finish_reason model_length", False),
    ("finish_error", "Mistral finish_reason error: the stream failed", False),
    ("error_529_overloaded", "Anthropic HTTP 529 overloaded_error", False),
    ("overloaded_mid_stream", "Anthropic overloaded_error event inside the stream", False),
    ("throttling_mid_stream", "Bedrock throttlingException frame inside the stream", False),
    ("overflow_prompt_too_long", "context overflow in the 'prompt is too long' wording", False),
):
    _extra_case(_name, _title, _tool)

# -- the wires ------------------------------------------------------------------------------------------

_OPENAI_ONLY = {
    "finish_function_call": "legacy OpenAI function_call finish reason",
    "reasoning_field": "vLLM's delta.reasoning spelling is OpenAI-chat only",
    "overflow_openai_code": "OpenAI's context_length_exceeded code",
    "tool_parallel_interleaved": "this wire streams one block at a time; calls cannot interleave",
    "tool_parallel_same_index": "OpenAI chat index reuse",
    "tool_late_id": "OpenAI chat ids in a later delta",
}
_NO_REASONING = {"reasoning_content": "no reasoning in this wire's stream (Mistral's Magistral thinking chunks are not "
                                       "decoded by the reference provider yet)"}


def _unsupported(*extra: Mapping[str, str], **more: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for mapping in extra:
        merged.update(mapping)
    merged.update(more)
    return merged


register_wire(WireFamily(
    name="anthropic", api_prefix="/v1", decode=decode_anthropic, read_request=read_anthropic_request,
    description="Anthropic Messages, streamed as SSE (POST /v1/messages; llama.cpp and vLLM answer it too)",
    stop_reasons={
        "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
        "finish_content_filter": "content_filtered", "finish_null": "end_turn", "finish_unknown": "end_turn",
        "finish_stop_with_tool_calls": "tool_use", "finish_length_in_tool_call": "max_tokens",
        "finish_pause_turn": "end_turn", "finish_model_context_window_exceeded": "max_tokens",
        "finish_stop_sequence": "stop_sequence",
    },
    unsupported=_unsupported(_OPENAI_ONLY, error_503="Anthropic signals overload with 529, "
                             "covered by error_529_overloaded"),
    finish_words={"end_turn": "end_turn", "max_tokens": "max_tokens", "tool_use": "tool_use",
                  "stop_sequence": "stop_sequence", "pause_turn": "end_turn", "refusal": "content_filtered",
                  "model_context_window_exceeded": "max_tokens"},
))
register_wire(WireFamily(
    name="bedrock-converse", api_prefix="", decode=decode_bedrock_converse,
    read_request=read_bedrock_converse_request,
    description="Amazon Bedrock ConverseStream (AWS event-stream framing)",
    stop_reasons={
        "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
        "finish_content_filter": "content_filtered", "finish_unknown": "end_turn",
        "finish_stop_with_tool_calls": "tool_use", "finish_length_in_tool_call": "max_tokens",
        "finish_model_context_window_exceeded": "max_tokens", "finish_stop_sequence": "stop_sequence",
        "finish_guardrail_intervened": "guardrail_intervened",
    },
    unsupported=_unsupported(_OPENAI_ONLY,
                             finish_null="messageStop always carries a stopReason on this wire"),
))
register_wire(WireFamily(
    name="ollama", api_prefix="", decode=decode_ollama, read_request=read_ollama_request, carries_call_ids=False,
    description="Ollama native chat (POST /api/chat), streamed as NDJSON",
    stop_reasons={
        "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
        "finish_null": "end_turn", "finish_unknown": "end_turn", "finish_stop_with_tool_calls": "tool_use",
        "finish_length_in_tool_call": "max_tokens",
    },
    unsupported=_unsupported(_OPENAI_ONLY,
                             finish_content_filter="Ollama has no content filter done_reason",
                             shape_tool_results="Ollama's /api/chat carries no tool call ids: results pair with calls "
                                                "by order and tool_name",
                             shape_tool_choice_any="Ollama's /api/chat has no tool_choice field (the provider warns)",
                             shape_tool_choice_named="Ollama's /api/chat has no tool_choice field (the provider warns)",
                             error_429="Ollama does not rate-limit (503 when its queue is full is covered)",
                             tool_split_arguments="Ollama sends tool arguments whole, as a JSON object",
                             tool_split_multibyte="Ollama sends tool arguments whole (bytes split inside a line "
                                                  "are covered by text_multibyte_split)"),
))
for _wire, _description in (("mistral", "Mistral chat completions (OpenAI-shaped SSE chunks)"),
                            ("writer", "Writer chat (OpenAI-shaped SSE chunks)")):
    _stops = {
        "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
        "finish_content_filter": "content_filtered", "finish_null": "end_turn", "finish_unknown": "end_turn",
        "finish_stop_with_tool_calls": "tool_use", "finish_length_in_tool_call": "max_tokens",
    }
    if _wire == "mistral":
        _stops["finish_model_length"] = "max_tokens"
    register_wire(WireFamily(
        name=_wire, api_prefix="/v1", decode=decode_openai_chat, description=_description, stop_reasons=_stops,
        read_request=read_always_usage_chat_request if _wire == "mistral" else read_openai_chat_request,
        unsupported=_unsupported(_OPENAI_ONLY, _NO_REASONING, **(
            {"tool_split_arguments": "Mistral sends each tool call whole, in one delta"} if _wire == "mistral" else {})),
    ))
register_wire(WireFamily(
    name="llama-api", api_prefix="/v1", decode=decode_llama_api, read_request=read_always_usage_chat_request,
    description="Meta Llama API chat completions (its own SSE events)",
    stop_reasons={
        "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use",
        "finish_null": "end_turn", "finish_unknown": "end_turn", "finish_stop_with_tool_calls": "tool_use",
        "finish_length_in_tool_call": "max_tokens",
    },
    unsupported=_unsupported(_OPENAI_ONLY, _NO_REASONING,
                             finish_content_filter="the Llama API has no content filter stop_reason",
                             error_503="no published 503 shape for the Llama API"),
))
def _not_recorded_through_litellm() -> dict[str, str]:
    # This wire holds only traffic recorded through the real litellm; the written OpenAI-chat quirks run with
    # `--provider litellm --wire openai-chat`.
    recorded = {path.name.split(".")[0] for path in (RECORDINGS_DIR / "litellm").glob("*.json")}
    return {name: "not recorded through LiteLLM; its written quirks run with --provider litellm --wire openai-chat"
            for name, case in CASES.items() if case.cassette_case not in recorded}


register_wire(WireFamily(
    name="litellm", api_prefix="/v1", decode=decode_openai_chat, read_request=read_openai_chat_request,
    description="OpenAI chat completions through the litellm library (recorded from llama.cpp and vLLM)",
    stop_reasons={"finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use"},
    unsupported=_not_recorded_through_litellm(),
))


# -- the reference providers ----------------------------------------------------------------------------


def _root(base_url: str, prefix: str) -> str:
    trimmed = base_url.rstrip("/")
    return trimmed[: -len(prefix)] if prefix and trimmed.endswith(prefix) else trimmed


def anthropic_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.anthropic import AnthropicModel

    return AnthropicModel(client_args={"base_url": _root(base_url, "/v1"), "api_key": api_key}, model_id=model_id, **config)


def bedrock_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.bedrock import BedrockModel

    return BedrockModel(endpoint_url=base_url, api_key=api_key, model_id=model_id, **config)


def ollama_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.ollama import OllamaModel

    return OllamaModel(base_url, model_id=model_id, **config)


def mistral_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.mistral import MistralModel

    return MistralModel(api_key, client_args={"server_url": _root(base_url, "/v1")}, model_id=model_id, **config)


def writer_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.writer import WriterModel

    return WriterModel({"api_key": api_key, "base_url": base_url}, model_id=model_id, **config)


def llamaapi_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.llamaapi import LlamaAPIModel

    return LlamaAPIModel(client_args={"api_key": api_key, "base_url": base_url}, model_id=model_id, **config)


def litellm_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Any:
    from providers.litellm import LiteLLMModel

    # Routed as LiteLLM's hosted_vllm provider (any OpenAI-compatible server), the model id left as served.
    return LiteLLMModel(client_args={"api_base": base_url, "api_key": api_key, "custom_llm_provider": "hosted_vllm"},
                        model_id=model_id, **config)


def _anthropic_params(params: Mapping[str, Any]) -> dict[str, Any]:
    rest = dict(params)
    config: dict[str, Any] = {"max_tokens": rest.pop("max_tokens", 256)}
    return {**config, "params": rest} if rest else config


def _named_params(*named: str, max_tokens_key: str = "max_tokens") -> Any:
    def convert(params: Mapping[str, Any]) -> dict[str, Any]:
        config = {key: value for key, value in params.items() if key in named}
        if "max_tokens" in params:
            config[max_tokens_key] = params["max_tokens"]
        unknown = sorted(set(params) - set(named) - {"max_tokens"})
        if unknown:
            raise ValueError(f"this provider has no configuration for request parameters {unknown}")
        return config

    return convert


def _ollama_params(params: Mapping[str, Any]) -> dict[str, Any]:
    config = {key: value for key, value in params.items() if key in ("max_tokens", "temperature", "top_p")}
    extra = {key: value for key, value in params.items() if key not in config}
    return {**config, "options": extra} if extra else config


for _entry in (
    ProviderEntry("anthropic", anthropic_factory, ("vllm", "llamacpp"), _anthropic_params, wire="anthropic"),
    ProviderEntry("bedrock", bedrock_factory, (), _named_params("temperature", "top_p"), wire="bedrock-converse"),
    ProviderEntry("ollama", ollama_factory, (), _ollama_params, wire="ollama"),
    ProviderEntry("mistral", mistral_factory, (), _named_params("temperature", "top_p"), wire="mistral"),
    ProviderEntry("writer", writer_factory, (), _named_params("temperature", "top_p", "stop"), wire="writer"),
    ProviderEntry("llamaapi", llamaapi_factory, (), _named_params("temperature", "top_p", "top_k",
                                                                  max_tokens_key="max_completion_tokens"),
                  wire="llama-api"),
    ProviderEntry("litellm", litellm_factory, ("vllm", "llamacpp"), wire="litellm"),
):
    REFERENCE_PROVIDERS.setdefault(_entry.name, _entry)

# The wire each of these providers speaks (kept for callers; the entries carry it as `ProviderEntry.wire`).
PROVIDER_WIRES: dict[str, str] = {name: REFERENCE_PROVIDERS[name].wire for name in (
    "anthropic", "bedrock", "ollama", "mistral", "writer", "llamaapi", "litellm")}
