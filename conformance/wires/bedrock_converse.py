"""Amazon Bedrock ConverseStream (AWS event-stream framing, read with botocore's own parser).

Wire-only cases: guardrail interventions (a BLOCKED trace, masked output), the malformed-output stop
reasons, and the exceptions Bedrock sends as frames inside the stream (throttling, modelStreamError).
"""

from __future__ import annotations

import json
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case, tool_request_case
from conformance.wires._reference import ProviderEntry, TimeoutOptions, named_params
from conformance.wires._types import (
    CONTENT_KINDS, STRANDS_NAMED_FINISH_WORDS, ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError,
    WireExpectation, WireFamily, blocks_text, json_object, sampling_params,
)
from conformance.wires.anthropic import MESSAGES_STOP_REASONS, turn_role
from conformance.wires.openai_chat import OPENAI_ONLY

__all__ = ["decode_bedrock_converse", "read_bedrock_converse_request"]


def decode_bedrock_converse(body: bytes) -> WireExpectation:
    """Bedrock ConverseStream frames (botocore's event-stream parser): text, reasoning, tool use, stopReason, usage."""
    from botocore.eventstream import EventStreamBuffer, ParserError

    expectation = WireExpectation()
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    try:
        messages = list(buffer)
    except ParserError as exc:  # a bad prelude or checksum is a broken cassette, like any unreadable byte
        raise WireDecodeError(f"the AWS event-stream framing does not parse: {type(exc).__name__}: {exc}") from exc
    calls: dict[int, ExpectedToolCall] = {}
    for message in messages:
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
            expectation.usage = {key: usage[key] for key in ("inputTokens", "outputTokens", "totalTokens",
                                                             "cacheReadInputTokens", "cacheWriteInputTokens")
                                 if key in usage}
    return expectation


_BLOCK_KINDS = {"image": "image", "document": "document", "reasoningContent": "reasoning",
                "cachePoint": "cache_point", "citationsContent": "citations"}


def _read_blocks(blocks: list[Any], meaning: RequestMeaning, prefix: str = "") -> None:
    """Note the non-text blocks of a message (or of a tool result, under `prefix`); images as base64 bytes."""
    for block in blocks:
        for key, kind in _BLOCK_KINDS.items():
            if key in block:
                meaning.content.append(("" if kind == "cache_point" else prefix) + kind)
        if "image" in block:
            meaning.images.append(str((block["image"].get("source") or {}).get("bytes", "")))


def read_bedrock_converse_request(body: Any) -> RequestMeaning:
    """Read a Bedrock Converse request body (ConverseStream always sends a metadata event with usage)."""
    body = json_object(body, "bedrock-converse")
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
        meaning.system_text = blocks_text(body["system"])
    for message in body.get("messages") or []:
        blocks = message.get("content") or []
        meaning.roles.append(turn_role(message, blocks, lambda block: "toolResult" in block))
        for block in blocks:
            if "toolUse" in block:
                use = block["toolUse"]
                meaning.tool_calls.append(SentToolCall(use.get("toolUseId"), use.get("name"), use.get("input")))
            elif "toolResult" in block:
                result = block["toolResult"]
                text = "".join(item.get("text", "") if "text" in item else json.dumps(item.get("json"))
                               for item in result.get("content") or ())
                meaning.tool_results.append(SentToolResult(result.get("toolUseId"), text))
                _read_blocks(result.get("content") or [], meaning, "tool_result_")
        _read_blocks(blocks, meaning)
    meaning.streaming = True  # the converse-stream operation is the streaming one
    meaning.usage_requested = True
    meaning.params = sampling_params(body.get("inferenceConfig"), (("temperature", "temperature"), ("topP", "top_p"),
                                                                   ("maxTokens", "max_tokens")))
    return meaning


# finish_stop_sequence and finish_model_context_window_exceeded are declared by the anthropic wire.
EXTRA_CASES = (
    text_request_case("finish_guardrail_intervened",
                      "Bedrock guardrail_intervened with a BLOCKED trace: redactContent emitted"),
    text_request_case("guardrail_masked", "Bedrock guardrail that masks part of the answer"),
    text_request_case("finish_malformed_model_output", "Bedrock stop reason malformed_model_output"),
    tool_request_case("finish_malformed_tool_use", "Bedrock stop reason malformed_tool_use"),
    text_request_case("model_stream_error", "Bedrock modelStreamErrorException frame inside the stream"),
    text_request_case("throttling_mid_stream", "Bedrock throttlingException frame inside the stream"),
    text_request_case("overflow_prompt_too_long", "context overflow in the 'prompt is too long' wording"),
)

_STOPS = {key: value for key, value in MESSAGES_STOP_REASONS.items() if key != "finish_null"}
WIRE = WireFamily(
    name="bedrock-converse", api_prefix="", decode=decode_bedrock_converse, read_request=read_bedrock_converse_request,
    description="Amazon Bedrock ConverseStream (AWS event-stream framing)",
    stop_reasons={**_STOPS, "finish_guardrail_intervened": "guardrail_intervened",
                  "guardrail_masked": "guardrail_intervened"},
    unsupported={**OPENAI_ONLY, "finish_null": "messageStop always carries a stopReason on this wire"},
    finish_words={**STRANDS_NAMED_FINISH_WORDS, "model_context_window_exceeded": "max_tokens"},
    errors={"finish_malformed_model_output": "failed", "finish_malformed_tool_use": "failed",
            "model_stream_error": "failed", "throttling_mid_stream": "throttled",
            "overflow_prompt_too_long": "context_overflow"},
    content={kind: ("send", "Strands' content blocks are Converse's own") for kind in CONTENT_KINDS},
    request_schema="bedrock-converse.request.json",
)


def bedrock_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers.bedrock import BedrockModel

    return BedrockModel(endpoint_url=base_url, api_key=api_key, model_id=model_id, **config)


def _boto_timeouts(seconds: float) -> dict[str, Any]:
    from botocore.config import Config

    return {"boto_client_config": Config(read_timeout=seconds, connect_timeout=seconds)}


TIMEOUTS = TimeoutOptions("boto_client_config read_timeout and connect_timeout (also the default progress_timeout)",
                          _boto_timeouts)
PROVIDERS = (ProviderEntry("bedrock", bedrock_factory, (), named_params("temperature", "top_p"),
                           wire="bedrock-converse", timeouts=TIMEOUTS),)
