"""The OpenAI Responses API streamed as SSE (POST /v1/responses; vLLM and llama.cpp serve it too).

Its reference decoder reads the named events: output text, reasoning text and summaries, function calls
keyed by item id with their streamed arguments, and the one terminal event, whose status (`completed`,
`incomplete` with `incomplete_details.reason`, `failed`) is the finish word; a completed response that
ended in a function call (or a refusal) finishes with that item's type, as the wire has no word for it. Usage lives in the terminal
event's `response.usage` (`input_tokens` already holds `input_tokens_details.cached_tokens`). The request
reader reads `input` items, `instructions`, flat function tools and `tool_choice`. This wire has no null
finish and no index-keyed call deltas, so the chat-completions quirks of those kinds cannot occur on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case
from conformance.wires._lines import DONE, sse_payloads
from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry
from conformance.wires._types import (
    ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError, WireExpectation, WireFamily,
    blocks_text, json_object,
)
from conformance.wires.openai_chat import FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY

__all__ = ["decode_openai_responses", "read_openai_responses_request", "responses_params"]

_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _finish_word(response: Mapping[str, Any]) -> str | None:
    """`completed`, or the reason of an incomplete response (vLLM says so inside response.completed)."""
    reason = (response.get("incomplete_details") or {}).get("reason")
    return reason if reason else response.get("status")


def _usage(usage: Mapping[str, Any] | None) -> dict[str, int] | None:
    if not usage or "input_tokens" not in usage or "output_tokens" not in usage:
        return None
    details = usage.get("input_tokens_details") or {}
    cached = {key: details[wire] for key, wire in (("cacheReadInputTokens", "cached_tokens"),
                                                   ("cacheWriteInputTokens", "cache_write_tokens"))
              if isinstance(details.get(wire), int) and details[wire] > 0}
    total = usage.get("total_tokens", usage["input_tokens"] + usage["output_tokens"])
    return {"inputTokens": usage["input_tokens"], "outputTokens": usage["output_tokens"], "totalTokens": total, **cached}


def decode_openai_responses(body: bytes) -> WireExpectation:
    """Responses API SSE: text, reasoning, function calls, the terminal status and the token counts."""
    expectation = WireExpectation()
    calls: dict[str, ExpectedToolCall] = {}
    refused = False
    for number, event in sse_payloads(body):
        kind = event.get("type") if isinstance(event, dict) else None
        if event is DONE or kind is None:
            raise WireDecodeError(f"SSE line {number} is not a Responses event: {str(event)[:200]}")
        if kind == "error" or kind == "response.failed":
            raise WireDecodeError(f"the stream carries an error at SSE line {number}: {str(event)[:300]}")
        if kind == "response.output_text.delta":
            expectation.text += event["delta"]
        elif kind == "response.refusal.delta":
            expectation.text += event["delta"]
            refused = True
        elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            expectation.reasoning += event["delta"]
        elif kind == "response.output_item.added" and event["item"].get("type") == "function_call":
            item = event["item"]
            calls[item["id"]] = ExpectedToolCall(item.get("call_id"), item.get("name"), item.get("arguments") or "")
            expectation.tool_calls.append(calls[item["id"]])
        elif kind == "response.function_call_arguments.delta":
            calls[event["item_id"]].arguments += event["delta"]
        elif kind == "response.function_call_arguments.done" and not calls[event["item_id"]].arguments:
            calls[event["item_id"]].arguments = event["arguments"]
        elif kind in _TERMINAL:
            expectation.saw_done = True
            word = _finish_word(event["response"])
            if word == "completed" and (refused or calls):
                word = "refusal" if refused else "function_call"  # the item type that ended the turn
            expectation.finish_reason = word
            expectation.usage = _usage(event["response"].get("usage"))
    return expectation


def _content_parts(content: Any, meaning: RequestMeaning, prefix: str = "") -> None:
    """Note the image and file parts of an item's content (a string has none)."""
    for part in content if isinstance(content, list) else ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_image":
            meaning.content.append(prefix + "image")
            meaning.images.append(str(part.get("image_url", "")).partition("base64,")[2])
        elif kind == "input_file":
            meaning.content.append(prefix + "document")


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none"):
        return choice
    if choice == "required":
        return "any"
    if isinstance(choice, dict) and choice.get("type") == "function":
        return ("tool", choice.get("name"))
    return None if choice is None else ("unreadable", choice)


def read_openai_responses_request(body: Any) -> RequestMeaning:
    """Read a Responses API request body (usage is always in the terminal event, so it counts as requested)."""
    body = json_object(body, "openai-responses")
    meaning = RequestMeaning()
    for tool in body.get("tools") or []:
        meaning.tools.append({"type": tool.get("type"), "name": tool.get("name"), "description": tool.get("description"),
                              "parameters": tool.get("parameters")})
    meaning.tool_choice = _tool_choice(body.get("tool_choice"))
    items = body.get("input") or []
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    system = [number for number, item in enumerate(items) if item.get("role") in ("system", "developer")]
    texts = ([body["instructions"]] if body.get("instructions") else []) + [blocks_text(items[n].get("content"))
                                                                              for n in system]
    meaning.system_messages = len(texts)
    meaning.system_first = system == list(range(len(system)))
    meaning.system_text = "\n".join(texts) if texts else None
    for item in (item for number, item in enumerate(items) if number not in system):
        kind = item.get("type", "message")
        if kind == "function_call":
            meaning.roles.append("assistant")
            meaning.tool_calls.append(SentToolCall(item.get("call_id"), item.get("name"), _arguments(item)))
        elif kind == "function_call_output":
            meaning.roles.append("tool")
            output = item.get("output")
            meaning.tool_results.append(SentToolResult(item.get("call_id"), blocks_text(output)))
            _content_parts(output, meaning, "tool_result_")
        elif kind == "reasoning":
            meaning.content.append("reasoning")
        else:
            meaning.roles.append(item.get("role"))
            _content_parts(item.get("content"), meaning)
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True
    meaning.params = {name: body[key] for key, name in (("temperature", "temperature"), ("top_p", "top_p"),
                                                        ("max_output_tokens", "max_tokens")) if key in body}
    return meaning


def _arguments(item: Mapping[str, Any]) -> Any:
    text = item.get("arguments") or ""
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return text


EXTRA_CASES = (
    text_request_case("finish_refusal", "a refusal streamed as response.refusal.delta"),
    text_request_case("response_failed", "response.failed with a server_error after some text"),
    text_request_case("error_event_rate_limit", "an error event with code rate_limit_exceeded inside the stream"),
)

_ONE_FINISH_WORD = "this wire ends text and tool calls alike with status completed: finish_tool_calls covers it"
WIRE = WireFamily(
    name="openai-responses", api_prefix="/v1", decode=decode_openai_responses,
    read_request=read_openai_responses_request,
    description="OpenAI Responses API, streamed as SSE (POST /v1/responses; vLLM and llama.cpp serve it too)",
    stop_reasons={**{case: reason for case, reason in FINISH_STOP_REASONS.items()
                     if case not in ("finish_null", "finish_stop_with_tool_calls")},
                  "finish_refusal": "content_filtered"},
    unsupported={
        **{case: why for case, why in OPENAI_ONLY.items() if case != "overflow_openai_code"},
        **NO_CITATIONS,
        "finish_null": "every Responses stream ends with a terminal event that carries a status",
        "finish_stop_with_tool_calls": _ONE_FINISH_WORD,
    },
    finish_words={"completed": "end_turn", "max_output_tokens": "max_tokens", "content_filter": "content_filtered",
                  "refusal": "content_filtered", "function_call": "tool_use"},
    errors={"response_failed": "failed", "error_event_rate_limit": "throttled"},
    content={
        "image": ("send", "an input_image part holding a base64 data URL"),
        "document": ("send_or_refuse", "an input_file part holding a base64 data URL; local servers take none"),
        "reasoning": ("omit", "reasoning items go back only with the server's encrypted content and item id"),
        "reasoning_unsigned": ("omit", "reasoning items go back only with the server's encrypted content and item id"),
        "cache_point": ("omit", "the Responses API has no cache marks: the server caches prompt prefixes itself"),
        "tool_result_image": ("send", "an input_image part in the function_call_output's output list"),
    },
    request_schema="openai-responses.request.json",
    live_limits={"llamacpp": {
        "structured_output": "llama.cpp's /v1/responses ignores text.format (its chat endpoint honours "
                             "response_format): the model answers prose",
    }},
)


# -- reference provider -------------------------------------------------------------------------------------


def responses_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every request field goes in `params`; the cases' max_tokens is this API's max_output_tokens."""
    fields = {("max_output_tokens" if key == "max_tokens" else key): value for key, value in params.items()}
    return {"params": fields} if fields else {}


def responses_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY",
                      client_args: dict[str, Any] | None = None, **config: Any) -> Model:
    from providers.openai_responses import OpenAIResponsesModel

    return OpenAIResponsesModel(client_args={"base_url": base_url, "api_key": api_key, **(client_args or {})},
                                model_id=model_id, **config)


PROVIDERS = (ProviderEntry("openai-responses", responses_factory, ("vllm", "llamacpp"), responses_params,
                           wire="openai-responses", timeouts=CLIENT_ARGS_TIMEOUT),)
