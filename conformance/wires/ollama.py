"""Ollama's native chat (POST /api/chat), streamed as NDJSON.

This wire carries no tool call ids (calls and results pair by order and name) and sends tool arguments
whole, as a JSON object; its last line holds done_reason and the token counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case, tool_request_case
from conformance.wires._lines import ndjson_objects
from conformance.wires._reference import ProviderEntry, TimeoutOptions
from conformance.wires._types import (
    ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError, WireExpectation, WireFamily,
    json_object,
)
from conformance.wires.openai_chat import FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY, read_tools_and_system

__all__ = ["decode_ollama", "ollama_params", "read_ollama_request"]


def decode_ollama(body: bytes) -> WireExpectation:
    """Ollama /api/chat NDJSON: content, thinking, whole tool calls (no ids on this wire), done_reason, counts."""
    expectation = WireExpectation()
    for number, chunk in ndjson_objects(body):
        if "error" in chunk:
            raise WireDecodeError(f"NDJSON line {number} carries an error: {json.dumps(chunk)[:200]}")
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


def read_ollama_request(body: Any) -> RequestMeaning:
    """Read an Ollama /api/chat body: no tool ids on this wire, so calls and results pair by order and name."""
    body = json_object(body, "ollama")
    meaning = RequestMeaning()
    for message in read_tools_and_system(body, meaning, system_roles=("system",)):
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            meaning.tool_calls.append(SentToolCall(call.get("id"), function.get("name"), function.get("arguments")))
        if message.get("role") == "tool":
            meaning.tool_results.append(SentToolResult(message.get("tool_call_id"), message.get("content") or ""))
        for image in message.get("images") or ():
            meaning.content.append("tool_result_image" if message.get("role") == "tool" else "image")
            meaning.images.append(str(image))
        if message.get("thinking"):
            meaning.content.append("reasoning")
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True  # the final line always carries the counts the server has
    options = body.get("options") or {}
    meaning.params = {name: options[key] for key, name in (("temperature", "temperature"), ("top_p", "top_p"),
                                                           ("num_predict", "max_tokens")) if key in options}
    return meaning


EXTRA_CASES = (
    tool_request_case("tool_with_ids", "Ollama tool calls that do carry ids"),
    # tool_split_multibyte is skipped here as a split-arguments case (arguments come whole); its cassette
    # still holds a line whose bytes split inside a multi-byte character of the arguments.
    tool_request_case("tool_arguments_multibyte_bytes",
                      "whole tool arguments whose NDJSON line is split inside a multi-byte character",
                      cassette="tool_split_multibyte"),
    text_request_case("usage_prompt_count_missing", "the final line without prompt_eval_count"),
    text_request_case("error_model_not_found", "Ollama HTTP 404 for a model it has not pulled"),
)

_NO_TOOL_CHOICE = "Ollama's /api/chat has no tool_choice field (the provider warns)"
_ARGUMENTS_WHOLE = ("Ollama sends tool arguments whole; the bytes of its line split inside a character are "
                    "covered by tool_arguments_multibyte_bytes")
WIRE = WireFamily(
    name="ollama", api_prefix="", decode=decode_ollama, read_request=read_ollama_request, carries_call_ids=False,
    description="Ollama native chat (POST /api/chat), streamed as NDJSON",
    stop_reasons={
        **{key: value for key, value in FINISH_STOP_REASONS.items() if key != "finish_content_filter"},
        "tool_with_ids": "tool_use", "tool_arguments_multibyte_bytes": "tool_use", "usage_prompt_count_missing": "end_turn",
    },
    unsupported={
        **OPENAI_ONLY,
        "finish_content_filter": "Ollama has no content filter done_reason",
        "shape_tool_results": "Ollama's /api/chat carries no tool call ids: results pair with calls by order and tool_name",
        "shape_tool_choice_any": _NO_TOOL_CHOICE,
        "shape_tool_choice_named": _NO_TOOL_CHOICE,
        "error_429": "Ollama does not rate-limit (503 when its queue is full is covered)",
        "tool_split_arguments": "Ollama sends tool arguments whole, as a JSON object",
        "tool_split_multibyte": _ARGUMENTS_WHOLE,
        **NO_CITATIONS,
        "usage_cached": "this wire reports no cache token counts",
    },
    errors={"error_model_not_found": "failed"},
    content={
        "image": ("send", "base64 images in the message's `images`"),
        "document": ("refuse", "/api/chat has no documents"),
        "reasoning": ("omit", "Ollama thinks afresh each turn: the provider need not send `thinking` back"),
        "reasoning_unsigned": ("omit", "Ollama thinks afresh each turn: the provider need not send `thinking` back"),
        "cache_point": ("omit", "/api/chat has no cache marks: the server keeps the prompt prefix itself"),
        "tool_result_image": ("send", "base64 images in the tool message's `images`"),
    },
    request_schema="ollama.request.json",
)


def ollama_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """OllamaModel names max_tokens, temperature and top_p; the rest go in its `options`."""
    config = {key: value for key, value in params.items() if key in ("max_tokens", "temperature", "top_p")}
    extra = {key: value for key, value in params.items() if key not in config}
    return {**config, "options": extra} if extra else config


def ollama_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers.ollama import OllamaModel

    return OllamaModel(base_url, model_id=model_id, **config)


TIMEOUT = TimeoutOptions("ollama_client_args timeout (connect and read; also the default progress_timeout)",
                         lambda seconds: {"ollama_client_args": {"timeout": seconds}})
PROVIDERS = (ProviderEntry("ollama", ollama_factory, (), ollama_params, wire="ollama", timeouts=TIMEOUT),)
