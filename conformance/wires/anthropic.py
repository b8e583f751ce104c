"""Anthropic Messages streamed as SSE (POST /v1/messages; llama.cpp and vLLM answer it too).

Its reference decoder reads the content blocks (text, thinking, tool_use) and the token counts, which
Anthropic splits into input, cached-read and cache-write shares; its request reader reads `system`,
`tool_choice` and tool_result blocks. Wire-only cases: pause_turn, stop_sequence, the context window
stop, and overload as HTTP 529 or as an error event inside the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case
from conformance.wires._lines import sse_payloads
from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry, server_root
from conformance.wires._types import (
    STRANDS_NAMED_FINISH_WORDS, ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError,
    WireExpectation, WireFamily, blocks_text, json_object,
)
from conformance.wires.openai_chat import FINISH_STOP_REASONS, OPENAI_ONLY

__all__ = ["anthropic_params", "decode_anthropic", "read_anthropic_request", "turn_role"]


def _counts(mapping: Mapping[str, Any] | None) -> dict[str, int]:
    return {key: value for key, value in (mapping or {}).items() if isinstance(value, int)}


def _usage(usage: Mapping[str, int]) -> tuple[dict[str, int] | None, list[dict[str, int]]]:
    if "input_tokens" not in usage or "output_tokens" not in usage:
        return None, []
    # Strands' inputTokens is the whole prompt: Anthropic's input_tokens plus the cached share.
    total_input = usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) + usage.get(
        "cache_creation_input_tokens", 0)
    whole = {"inputTokens": total_input, "outputTokens": usage["output_tokens"],
             "totalTokens": total_input + usage["output_tokens"]}
    cached = {key: usage[wire] for key, wire in (("cacheReadInputTokens", "cache_read_input_tokens"),
                                                 ("cacheWriteInputTokens", "cache_creation_input_tokens"))
              if usage.get(wire)}
    if not cached:
        return whole, []
    # strands' AnthropicModel keeps input_tokens as sent and the cached share apart
    return whole, [{"inputTokens": usage["input_tokens"], "outputTokens": usage["output_tokens"],
                    "totalTokens": whole["totalTokens"], **cached}]


def decode_anthropic(body: bytes) -> WireExpectation:
    """Anthropic Messages SSE: text, thinking, tool_use blocks, the stop_reason and the token counts."""
    expectation = WireExpectation()
    blocks: dict[int, ExpectedToolCall] = {}
    usage: dict[str, int] = {}
    for _number, event in sse_payloads(body):
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "error":
            raise WireDecodeError(f"the stream carries an error event: {event}")
        if kind == "message_start":
            usage.update(_counts(event["message"].get("usage")))
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
            usage.update(_counts(event.get("usage")))
        elif kind == "message_stop":
            expectation.saw_done = True
    expectation.usage, expectation.usage_also = _usage(usage)
    return expectation


def turn_role(message: Mapping[str, Any], blocks: list[Any], is_result: Callable[[Any], bool]) -> str:
    """A message's role; "tool" for a user message made only of tool results (Anthropic and Bedrock send
    results inside a user message, OpenAI as a tool message: the checks compare turns, not syntax)."""
    results = [block for block in blocks if is_result(block)]
    return "tool" if results and len(results) == len(blocks) else message.get("role")


_BLOCK_KINDS = {"image": "image", "document": "document", "thinking": "reasoning", "redacted_thinking": "reasoning"}


def _read_blocks(blocks: list[Any], meaning: RequestMeaning, prefix: str = "") -> None:
    """Note the non-text blocks of a message (or of a tool result, under `prefix`) and the cache marks."""
    for block in blocks:
        kind = _BLOCK_KINDS.get(block.get("type"))
        if kind is not None:
            meaning.content.append(prefix + kind)
        if kind == "image":
            meaning.images.append(str((block.get("source") or {}).get("data", "")))
        if block.get("citations"):
            meaning.content.append("citations")
        if "cache_control" in block:
            meaning.content.append("cache_point")


def read_anthropic_request(body: Any) -> RequestMeaning:
    """Read an Anthropic Messages request body (usage is always in the stream, so it counts as requested)."""
    body = json_object(body, "anthropic")
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
        meaning.system_text = blocks_text(body["system"])
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        meaning.roles.append(turn_role(message, blocks, lambda block: block.get("type") == "tool_result"))
        for block in blocks:
            if block.get("type") == "tool_use":
                meaning.tool_calls.append(SentToolCall(block.get("id"), block.get("name"), block.get("input")))
            elif block.get("type") == "tool_result":
                meaning.tool_results.append(SentToolResult(block.get("tool_use_id"), blocks_text(block.get("content"))))
                inner = block.get("content") if isinstance(block.get("content"), list) else []
                _read_blocks(inner, meaning, "tool_result_")
        _read_blocks(blocks, meaning)
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True
    meaning.params = {key: body[key] for key in ("temperature", "top_p", "max_tokens") if key in body}
    return meaning


EXTRA_CASES = (
    text_request_case("finish_pause_turn", "Anthropic stop_reason pause_turn: the paused turn is resumed"),
    text_request_case("finish_model_context_window_exceeded",
                      "stop reason model_context_window_exceeded (answer cut by the window)"),
    text_request_case("finish_stop_sequence", "stop reason stop_sequence"),
    text_request_case("reasoning_redacted", "Anthropic redacted_thinking block beside the answer"),
    text_request_case("error_529_overloaded", "Anthropic HTTP 529 overloaded_error"),
    text_request_case("overloaded_mid_stream", "Anthropic overloaded_error event inside the stream"),
    text_request_case("overflow_anthropic_wording", "context overflow in Anthropic's wording"),
)

# The finish reasons the Messages-style wires (Anthropic, Bedrock Converse) add to OpenAI chat's.
MESSAGES_STOP_REASONS = {**FINISH_STOP_REASONS, "finish_model_context_window_exceeded": "max_tokens",
                         "finish_stop_sequence": "stop_sequence"}

WIRE = WireFamily(
    name="anthropic", api_prefix="/v1", decode=decode_anthropic, read_request=read_anthropic_request,
    description="Anthropic Messages, streamed as SSE (POST /v1/messages; llama.cpp and vLLM answer it too)",
    stop_reasons={**MESSAGES_STOP_REASONS, "finish_pause_turn": "end_turn", "reasoning_redacted": "end_turn"},
    unsupported={**OPENAI_ONLY, "error_503": "Anthropic signals overload with 529, covered by error_529_overloaded"},
    finish_words={**STRANDS_NAMED_FINISH_WORDS, "pause_turn": "end_turn", "refusal": "content_filtered",
                  "model_context_window_exceeded": "max_tokens"},
    errors={"error_529_overloaded": "throttled", "overloaded_mid_stream": "throttled",
            "overflow_anthropic_wording": "context_overflow"},
    content={
        "image": ("send", "an image block with a base64 source"),
        "document": ("send", "a document block with a base64 source (PDF) or a text source"),
        "reasoning": ("send", "a thinking block with its signature"),
        "reasoning_unsigned": ("omit", "Anthropic takes a thinking block back only with its signature"),
        "cache_point": ("send", "cache_control on the block before the cache point"),
        "tool_result_image": ("send", "an image block inside the tool_result content"),
        "citations": ("send_or_refuse", "citations on a text block, which need a cited document in the request"),
    },
    request_schema="anthropic.request.json",
)


# -- reference provider -------------------------------------------------------------------------------------


def anthropic_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """AnthropicModel requires max_tokens by name; the other request fields go in `params`."""
    rest = dict(params)
    config: dict[str, Any] = {"max_tokens": rest.pop("max_tokens", 256)}
    return {**config, "params": rest} if rest else config


def anthropic_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY",
                      client_args: dict[str, Any] | None = None, **config: Any) -> Model:
    from providers.anthropic import AnthropicModel

    root = server_root(base_url, "/v1")
    return AnthropicModel(client_args={"base_url": root, "api_key": api_key, **(client_args or {})}, model_id=model_id,
                          **config)


PROVIDERS = (ProviderEntry("anthropic", anthropic_factory, ("vllm", "llamacpp"), anthropic_params, wire="anthropic",
                           timeouts=CLIENT_ARGS_TIMEOUT),)
