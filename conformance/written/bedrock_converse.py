"""The written cassettes of the bedrock-converse wire: ConverseStream in AWS event-stream frames.

No server here speaks Bedrock. Each response below reads as the event-stream frames, in order (every
`StopReason`, guardrail traces, exceptions inside the stream); the request stored is the one the
reference provider sends, and error responses carry the `x-amzn-errortype` header botocore reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.cases import Case
from conformance.written.builders import (
    EVENT_STREAM,
    Response,
    WrittenWire,
    aws_event,
    aws_exception,
    limits,
    split_inside_multibyte,
)

WEATHER = ('{"city": ', '"Tokyo"}')


def _reference_model(case: Case) -> Any:
    from providers.bedrock import BedrockModel

    max_tokens, temperature = limits(case)
    return BedrockModel(endpoint_url="http://127.0.0.1", api_key="written-cassette", model_id="smollm2",
                        max_tokens=max_tokens, temperature=temperature)


def b_ok(*frames: bytes | list[bytes], end: str = "complete") -> Response:
    return Response.ok(EVENT_STREAM, *frames, end=end)


def b_block(event_type: str, index: int, **fields: Any) -> bytes:
    return aws_event(event_type, {"contentBlockIndex": index, **fields})


def b_text(index: int, *pieces: str) -> list[bytes]:
    deltas = [b_block("contentBlockDelta", index, delta={"text": piece}) for piece in pieces]
    return deltas + [b_block("contentBlockStop", index)]


def b_tool(index: int, tool_id: str, name: str, *pieces: str) -> list[bytes]:
    start = b_block("contentBlockStart", index, start={"toolUse": {"toolUseId": tool_id, "name": name}})
    deltas = [b_block("contentBlockDelta", index, delta={"toolUse": {"input": piece}}) for piece in pieces]
    return [start, *deltas, b_block("contentBlockStop", index)]


def b_end(stop: str, usage: dict[str, int] | None = None, trace: dict[str, Any] | None = None) -> list[bytes]:
    metadata: dict[str, Any] = {"metrics": {"latencyMs": 412}}
    metadata["usage"] = usage or {"inputTokens": 26, "outputTokens": 9, "totalTokens": 35}
    if trace is not None:
        metadata["trace"] = trace
    return [aws_event("messageStop", {"stopReason": stop}), aws_event("metadata", metadata)]


B_START = aws_event("messageStart", {"role": "assistant"})


def b_error(status: int, message: str) -> Response:
    return Response.error(status, {"message": message})


GUARDRAIL_BLOCKED = {"guardrail": {"inputAssessment": {"gr1": {"contentPolicy": {"filters": [
    {"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED", "detected": True}]}}}}}
GUARDRAIL_MASKED = {"guardrail": {"outputAssessments": {"0": [{"sensitiveInformationPolicy": {"piiEntities": [
    {"type": "EMAIL", "match": "a@b.c", "action": "ANONYMIZED", "detected": True}]}}]}}}

RESPONSES: dict[str, Callable[[], Response]] = {
    "text_basic": lambda: b_ok(B_START, b_text(0, "Hello", ", conformance", " suite!"), b_end("end_turn")),
    "text_multibyte_split": lambda: Response(200, split_inside_multibyte(
        b"".join([B_START, *b_text(0, "Grüße, 東京 👋"), *b_end("end_turn")])), EVENT_STREAM),
    "usage_cached": lambda: b_ok(B_START, b_text(0, "Hello", ", conformance", " suite!"), b_end("end_turn", {
        "inputTokens": 26, "outputTokens": 9, "totalTokens": 1322, "cacheReadInputTokens": 1024,
        "cacheWriteInputTokens": 263})),
    "usage_missing": lambda: b_ok(B_START, b_text(0, "Hello"), aws_event("messageStop", {"stopReason": "end_turn"})),
    "finish_stop": lambda: b_ok(B_START, b_text(0, "Hello", "."), b_end("end_turn")),
    "finish_length": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("max_tokens")),
    "finish_content_filter": lambda: b_ok(B_START, b_text(0, "I can"), b_end("content_filtered")),
    "finish_stop_sequence": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("stop_sequence")),
    "finish_model_context_window_exceeded": lambda: b_ok(B_START, b_text(0, "Hello"),
                                                         b_end("model_context_window_exceeded")),
    "finish_malformed_model_output": lambda: b_ok(B_START, b_text(0, "Hel"), b_end("malformed_model_output")),
    "finish_malformed_tool_use": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", '{"ci'),
                                              b_end("malformed_tool_use")),
    "finish_guardrail_intervened": lambda: b_ok(B_START, b_text(0, "Sorry, the model cannot answer this question."),
                                                b_end("guardrail_intervened", trace=GUARDRAIL_BLOCKED)),
    "guardrail_masked": lambda: b_ok(B_START, b_text(0, "Write to {EMAIL}."),
                                     b_end("guardrail_intervened", trace=GUARDRAIL_MASKED)),
    "finish_unknown": lambda: b_ok(B_START, b_text(0, "Hello"), b_end("future_reason")),
    "finish_tool_calls": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
    "finish_stop_with_tool_calls": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER),
                                                b_end("end_turn")),
    "finish_length_in_tool_call": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", '{"city": "To'),
                                               b_end("max_tokens")),
    "tool_single": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
    "tool_parallel": lambda: b_ok(B_START, b_text(0, "Checking both."),
                                  b_tool(1, "tooluse_written01", "get_weather", *WEATHER),
                                  b_tool(2, "tooluse_written02", "get_weather", '{"city": ', '"Paris"}'), b_end("tool_use")),
    "tool_split_arguments": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather",
                                                         "{", '"c', "it", 'y"', ": ", '"T\\', 'u00f6', "ky", 'o\\"', '"}'),
                                         b_end("tool_use")),
    "tool_zero_args": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_time"), b_end("tool_use")),
    "tool_result_round_trip": lambda: b_ok(B_START, b_text(0, "It is 3 C with light snow in Oslo."), b_end("end_turn")),
    "reasoning_content": lambda: b_ok(B_START, [
        *[b_block("contentBlockDelta", 0, delta={"reasoningContent": reasoning})
          for reasoning in ({"text": "The user "}, {"text": "wants a greeting."}, {"signature": "EqQBCgIYAhIM1gbcDa9G"})],
        b_block("contentBlockStop", 0)], b_text(1, "Hello!"), b_end("end_turn")),
    "error_429": lambda: b_error(429, "Too many requests, please wait before trying again."),
    "error_503": lambda: b_error(503, "Bedrock is unable to process your request."),
    "overflow_before_stream": lambda: b_error(400, "Input is too long for requested model."),
    "overflow_prompt_too_long": lambda: b_error(400, "prompt is too long: 208310 tokens > 200000 maximum"),
    "overflow_mid_stream": lambda: b_ok(B_START, b_text(0, "Hel")[:1], aws_exception(
        "validationException", "Input is too long for requested model.")),
    "throttling_mid_stream": lambda: b_ok(B_START, b_text(0, "Hel")[:1], aws_exception(
        "throttlingException", "Too many tokens, please wait before trying again.")),
    "model_stream_error": lambda: b_ok(B_START, b_text(0, "Hel")[:1], aws_exception(
        "modelStreamErrorException", "The model stream failed.")),
    "truncated_stream": lambda: b_ok(B_START, b_text(0, "Hello")),
    "malformed_line": lambda: b_ok(B_START, aws_event("contentBlockDelta", {"x": 1})[:-4] + b"\x00\x00\x00\x00"),
    "connection_closed": lambda: b_ok(B_START, b_text(0, "Hel")[:1], end="closed"),
    "structured_output": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "WeatherReport",
                                                      '{"city": "Tokyo", ', '"celsius": 21}'), b_end("tool_use")),
}
RESPONSES.update({
    "tool_split_multibyte": lambda: Response(200, split_inside_multibyte(b"".join(
        [B_START, *b_tool(0, "tooluse_written01", "get_weather", '{"city": "東京"}'), *b_end("tool_use")])),
        EVENT_STREAM),
    "agent_structured_output": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "WeatherReport",
                                                            '{"city": "Tokyo", "celsius": 21}'), b_end("tool_use")),
    "agent_tool_loop": lambda: b_ok(B_START, b_tool(0, "tooluse_written01", "get_weather", *WEATHER), b_end("tool_use")),
})
EXTRA_CASES = {
    "finish_stop_sequence": "text_basic",
    "finish_model_context_window_exceeded": "text_basic",
    "finish_malformed_model_output": "text_basic",
    "finish_malformed_tool_use": "tool_single",
    "finish_guardrail_intervened": "text_basic",
    "guardrail_masked": "text_basic",
    "overflow_prompt_too_long": "text_basic",
    "throttling_mid_stream": "text_basic",
    "model_stream_error": "text_basic",
}


def _error_headers(case: str) -> dict[str, str]:
    kinds = {"error_429": "ThrottlingException", "error_503": "ServiceUnavailableException"}
    kind = kinds.get(case, "ValidationException")
    return {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}


REFERENCE = (
    "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html (events, "
    "StopReason enum, exceptions) and the AWS event-stream framing of botocore.eventstream"
)

WRITTEN = WrittenWire(
    wire="bedrock-converse", reference=REFERENCE, path="/model/smollm2/converse-stream",
    reference_model=_reference_model, responses=RESPONSES, extra_cases=EXTRA_CASES,
    continuations={"agent_tool_loop": lambda: b_ok(B_START, b_text(0, "It is 21 C and sunny in Tokyo."), b_end("end_turn"))},
    error_headers=_error_headers,
)
# What the registry in conformance.written calls.
build = WRITTEN.build
