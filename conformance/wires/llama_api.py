"""Meta's Llama API chat completions: its own SSE events (`event.delta`, `stop_reason`, `metrics`).

A tool call starts at a delta carrying an id; usage comes as num_*_tokens metrics; requests are
OpenAI-shaped and always answered with usage.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.wires._lines import DONE, sse_payloads
from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry, named_params
from conformance.wires._types import ExpectedToolCall, WireDecodeError, WireExpectation, WireFamily
from conformance.wires.mistral import NO_REASONING, read_always_usage_chat_request
from conformance.wires.openai_chat import CHAT_CONTENT, FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY

__all__ = ["decode_llama_api"]


def decode_llama_api(body: bytes) -> WireExpectation:
    """Llama API SSE events: text and tool_call deltas (a new id starts a call), stop_reason, num_*_tokens metrics."""
    expectation = WireExpectation()
    metrics: dict[str, int] = {}
    current: ExpectedToolCall | None = None
    for number, payload in sse_payloads(body):
        if payload is DONE:
            continue
        if not isinstance(payload, dict) or "event" not in payload:
            # the error objects the API sends inside a stream ({"error": ...}) are not events to reproduce
            raise WireDecodeError(f"SSE line {number} is not a Llama API event: {str(payload)[:200]}")
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
        prompt, completion = metrics["num_prompt_tokens"], metrics["num_completion_tokens"]
        expectation.usage = {"inputTokens": prompt, "outputTokens": completion,
                             "totalTokens": metrics.get("num_total_tokens", prompt + completion)}
    return expectation


EXTRA_CASES = ()
WIRE = WireFamily(
    name="llama-api", api_prefix="/v1", decode=decode_llama_api, read_request=read_always_usage_chat_request,
    description="Meta Llama API chat completions (its own SSE events)",
    stop_reasons={key: value for key, value in FINISH_STOP_REASONS.items() if key != "finish_content_filter"},
    # No request schema: the Llama API publishes its own chat schema, not kept here yet (OpenAI's would be a guess).
    content=CHAT_CONTENT,
    unsupported={**OPENAI_ONLY, **NO_REASONING, **NO_CITATIONS, "usage_cached": "this wire reports no cache token counts",
                 "finish_content_filter": "the Llama API has no content filter stop_reason",
                 "error_503": "no published 503 shape for the Llama API"},
)


def llamaapi_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                     **config: Any) -> Model:
    from providers.llamaapi import LlamaAPIModel

    client_args = {"api_key": api_key, "base_url": base_url, **(client_args or {})}
    return LlamaAPIModel(client_args=client_args, model_id=model_id, **config)


PROVIDERS = (ProviderEntry("llamaapi", llamaapi_factory, (), named_params("temperature", "top_p", "top_k",
                                                                          max_tokens_key="max_completion_tokens"),
                           wire="llama-api", timeouts=CLIENT_ARGS_TIMEOUT),)
