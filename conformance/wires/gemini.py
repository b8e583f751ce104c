"""The Gemini API streamed as SSE (POST /v1beta/models/{model}:streamGenerateContent?alt=sse).

No local server speaks it, so its cassettes are written from the published format. Each event is a
whole GenerateContentResponse; function calls arrive whole (args as an object) with ids that are often
empty, so the provider makes them; thoughts are parts marked `thought`; a thought signature rides on a
part; a prompt blocked before any answer is a `promptFeedback.blockReason` with no candidate (read as
the finish word PROMPT_BLOCKED). Wire-only cases: recitation and blocked-prompt stops, a malformed
function call, empty ids, ids as Gemini 3 sends them, a signed call, a 400 that is not an overflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from strands.models import Model

from conformance.cases import text_request_case, tool_request_case
from conformance.wires._lines import DONE, sse_payloads
from conformance.wires._reference import ProviderEntry, TimeoutOptions, server_root
from conformance.wires._types import (
    ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError, WireExpectation, WireFamily,
    json_object, sampling_params,
)
from conformance.wires.openai_chat import FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY

__all__ = ["PROMPT_BLOCKED", "decode_gemini", "gemini_params", "read_gemini_request"]

PROMPT_BLOCKED = "PROMPT_BLOCKED"


def _usage(metadata: Mapping[str, Any]) -> dict[str, int]:
    """Strands' reading: input is the whole prompt (promptTokenCount includes the cached share), output the
    answer plus the thoughts; the cached share also on its own."""
    prompt = metadata.get("promptTokenCount", 0) + metadata.get("toolUsePromptTokenCount", 0)
    output = metadata.get("candidatesTokenCount", 0) + metadata.get("thoughtsTokenCount", 0)
    usage = {"inputTokens": prompt, "outputTokens": output, "totalTokens": metadata.get("totalTokenCount", prompt + output)}
    if metadata.get("cachedContentTokenCount"):
        usage["cacheReadInputTokens"] = metadata["cachedContentTokenCount"]
    return usage


def decode_gemini(body: bytes) -> WireExpectation:
    """Gemini SSE: text and thought parts, whole function calls (an empty id is no id), finishReason, usage."""
    expectation = WireExpectation()
    for number, event in sse_payloads(body):
        if event is DONE or not isinstance(event, dict):
            raise WireDecodeError(f"SSE line {number} is not a GenerateContentResponse: {event!r}")
        if "error" in event:
            raise WireDecodeError(f"SSE line {number} carries an error: {json.dumps(event)[:200]}")
        if event.get("usageMetadata"):
            expectation.usage = _usage(event["usageMetadata"])
        if (event.get("promptFeedback") or {}).get("blockReason"):
            expectation.finish_reason = PROMPT_BLOCKED
            expectation.saw_done = True
        for candidate in event.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    call = part["functionCall"]
                    expectation.tool_calls.append(
                        ExpectedToolCall(call.get("id") or None, call["name"], json.dumps(call.get("args", {}))))
                elif part.get("thought"):
                    expectation.reasoning += part.get("text") or ""
                else:
                    expectation.text += part.get("text") or ""
                if part.get("thoughtSignature"):
                    expectation.extra.setdefault("thought_signatures", []).append(part["thoughtSignature"])
            if candidate.get("finishReason"):
                expectation.finish_reason = candidate["finishReason"]
                expectation.saw_done = True
    return expectation


# Values that are the user's JSON (arguments, results, schemas): their keys are not field names.
_VERBATIM = frozenset({"args", "response", "parameters", "parametersJsonSchema", "responseSchema", "responseJsonSchema"})


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def proto_json_names(value: Any) -> Any:
    """A body with every field under its lowerCamelCase name: the API's proto3 JSON parser takes the proto
    field names too (google-genai sends `inlineData: {mime_type}` and `parameters_json_schema`)."""
    if isinstance(value, dict):
        renamed = {_camel(key): item for key, item in value.items()}
        return {key: item if key in _VERBATIM else proto_json_names(item) for key, item in renamed.items()}
    if isinstance(value, list):
        return [proto_json_names(item) for item in value]
    return value


def _note_inline(part: Mapping[str, Any], meaning: RequestMeaning) -> None:
    data = part["inlineData"]
    if str(data.get("mimeType", "")).startswith("image/"):
        meaning.content.append("image")
        meaning.images.append(str(data.get("data", "")))
    else:
        meaning.content.append("document")


def _result_text(response: Any) -> str:
    """A functionResponse's result: a string, a JSON value, or (strands' GeminiModel) a list of result parts."""
    value = response.get("output", response.get("error")) if isinstance(response, dict) else response
    if isinstance(value, list) and value and all(isinstance(item, dict) and len(item) == 1 for item in value):
        pieces = [item["text"] if "text" in item else json.dumps(item["json"]) if "json" in item else None
                  for item in value]
        if None not in pieces:
            return "".join(cast(list[str], pieces))
    return value if isinstance(value, str) else json.dumps(value)


def read_gemini_request(body: Any) -> RequestMeaning:
    """Read a generateContent body; usage is always in the stream's usageMetadata, so it counts as requested."""
    body = proto_json_names(json_object(body, "gemini"))
    meaning = RequestMeaning()
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or ():
            meaning.tools.append({"type": "function", "name": declaration.get("name"),
                                  "description": declaration.get("description"),
                                  "parameters": declaration.get("parametersJsonSchema", declaration.get("parameters"))})
    config = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if isinstance(config, dict):
        mode, names = config.get("mode"), config.get("allowedFunctionNames") or []
        meaning.tool_choice = {"AUTO": "auto", "NONE": "none"}.get(mode) or (
            ("tool", names[0]) if mode == "ANY" and len(names) == 1 else "any" if mode == "ANY" else ("unreadable", config))
    if body.get("systemInstruction") is not None:
        meaning.system_messages = 1
        meaning.system_text = "".join(part.get("text", "") for part in body["systemInstruction"].get("parts") or ())
    for content in body.get("contents") or []:
        parts = content.get("parts") or []
        results = [part for part in parts if "functionResponse" in part]
        meaning.roles.append("tool" if results and all("functionResponse" in part or "inlineData" in part for part in parts)
                             else {"model": "assistant"}.get(content.get("role"), content.get("role")))
        for part in parts:
            if "functionCall" in part:
                call = part["functionCall"]
                meaning.tool_calls.append(SentToolCall(call.get("id"), call.get("name"), call.get("args")))
            elif "functionResponse" in part:
                response = part["functionResponse"]
                meaning.tool_results.append(SentToolResult(response.get("id"), _result_text(response.get("response"))))
            elif "inlineData" in part:
                _note_inline(part, meaning)
            elif part.get("thought"):
                meaning.content.append("reasoning")
    meaning.streaming = True  # the streamGenerateContent method is the streaming one
    meaning.usage_requested = True
    meaning.params = sampling_params(body.get("generationConfig"), (("temperature", "temperature"), ("topP", "top_p"),
                                                                    ("maxOutputTokens", "max_tokens")))
    return meaning


EXTRA_CASES = (
    text_request_case("finish_recitation", "Gemini finishReason RECITATION (flagged as reciting a source)"),
    text_request_case("prompt_blocked", "Gemini promptFeedback.blockReason: the prompt is blocked, no candidate"),
    tool_request_case("finish_malformed_function_call", "Gemini finishReason MALFORMED_FUNCTION_CALL"),
    tool_request_case("tool_empty_ids", "two calls of the same function, each with an empty id"),
    tool_request_case("tool_thought_signature", "thoughts, then a function call carrying its thought signature"),
    text_request_case("error_invalid_argument", "Gemini HTTP 400 INVALID_ARGUMENT that is not a context overflow"),
)

_WHOLE_CALLS = "Gemini sends each function call whole, its args a JSON object"
WIRE = WireFamily(
    name="gemini", api_prefix="/v1beta", decode=decode_gemini, read_request=read_gemini_request,
    description="Gemini API streamGenerateContent, streamed as SSE (written cassettes: no local server speaks it)",
    stop_reasons={
        **{case: reason for case, reason in FINISH_STOP_REASONS.items() if case != "finish_null"},
        "finish_recitation": "content_filtered", "prompt_blocked": "content_filtered",
        "tool_empty_ids": "tool_use", "tool_with_ids": "tool_use", "tool_thought_signature": "tool_use",
        "tool_arguments_multibyte_bytes": "tool_use",
    },
    unsupported={
        **OPENAI_ONLY, **NO_CITATIONS,
        "finish_null": "Gemini has no end marker besides finishReason: a stream without one is truncated_stream",
        "tool_split_arguments": _WHOLE_CALLS,
        "tool_split_multibyte": _WHOLE_CALLS + "; its event split inside a character is tool_arguments_multibyte_bytes",
    },
    finish_words={"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "OTHER": "end_turn",
                  **{word: "content_filtered" for word in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
                                                           "SPII", "IMAGE_SAFETY", PROMPT_BLOCKED)}},
    errors={"finish_malformed_function_call": "failed", "error_invalid_argument": "failed"},
    content={
        "image": ("send", "an inlineData part (base64, with its MIME type)"),
        "document": ("send", "an inlineData part (PDF or text MIME types)"),
        "reasoning": ("send", "a thought part carrying its thoughtSignature"),
        "reasoning_unsigned": ("omit", "Gemini reads a thought back only through its signature"),
        "cache_point": ("omit", "Gemini caches implicitly; explicit caching is a cachedContent resource"),
        "tool_result_image": ("send", "an inlineData part beside the functionResponse"),
    },
    request_schema="gemini.request.json",
)


# -- reference provider -------------------------------------------------------------------------------------


def gemini_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """GeminiModel takes google-genai's GenerateContentConfig fields in `params` (max_output_tokens)."""
    shaped = dict(params)
    if "max_tokens" in shaped:
        shaped["max_output_tokens"] = shaped.pop("max_tokens")
    return {"params": shaped} if shaped else {}


def gemini_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY",
                   client_args: dict[str, Any] | None = None, **config: Any) -> Model:
    from providers.gemini import GeminiModel

    extra = dict(client_args or {})
    http_options = {"base_url": server_root(base_url, "/v1beta"), **extra.pop("http_options", {})}
    return GeminiModel(client_args={"api_key": api_key, "http_options": http_options, **extra}, model_id=model_id,
                       **config)


# google-genai's HttpOptions.timeout is in milliseconds; GeminiModel counts it the same way.
TIMEOUT = TimeoutOptions("client_args http_options timeout (milliseconds; connect and read, also the default "
                         "progress_timeout)", lambda seconds: {"client_args": {"http_options": {"timeout": int(seconds * 1000)}}})
PROVIDERS = (ProviderEntry("gemini", gemini_factory, (), gemini_params, wire="gemini", timeouts=TIMEOUT),)
