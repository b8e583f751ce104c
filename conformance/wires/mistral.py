"""Mistral chat completions: OpenAI-shaped SSE chunks, read by the openai-chat decoder.

What is Mistral's own: usage always sent, `tool_choice: "any"` for required, each tool call whole in
one delta, and the finish reasons model_length and error.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.cases import text_request_case
from conformance.wires._reference import ProviderEntry, TimeoutOptions, named_params, server_root
from conformance.wires._types import RequestMeaning, WireFamily
from conformance.wires.openai_chat import (
    CHAT_CONTENT, FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY, decode_openai_chat, read_openai_chat_request,
)

__all__ = ["NO_REASONING", "read_always_usage_chat_request"]

NO_REASONING = {"reasoning_content": "no reasoning in this wire's stream (Mistral's Magistral thinking chunks are not "
                                     "decoded by the reference provider yet)"}


def read_always_usage_chat_request(body: Any) -> RequestMeaning:
    """OpenAI-shaped bodies of vendors that always send usage (Mistral, Llama API); `any` is Mistral's required."""
    meaning = read_openai_chat_request(body)
    if body.get("tool_choice") == "any":
        meaning.tool_choice = "any"
    meaning.usage_requested = True
    return meaning


EXTRA_CASES = (
    text_request_case("finish_model_length", "Mistral finish_reason model_length"),
    text_request_case("finish_error", "Mistral finish_reason error: the stream failed"),
)

WIRE = WireFamily(
    name="mistral", api_prefix="/v1", decode=decode_openai_chat, read_request=read_always_usage_chat_request,
    description="Mistral chat completions (OpenAI-shaped SSE chunks)",
    stop_reasons={**FINISH_STOP_REASONS, "finish_model_length": "max_tokens"},
    unsupported={**OPENAI_ONLY, **NO_REASONING, **NO_CITATIONS, "usage_cached": "this wire reports no cache token counts",
                 "tool_split_arguments": "Mistral sends each tool call whole, in one delta"},
    errors={"finish_error": "failed"},
    content=CHAT_CONTENT, request_schema="mistral.request.json",
)


def mistral_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                    **config: Any) -> Model:
    from providers.mistral import MistralModel

    return MistralModel(api_key, client_args={"server_url": server_root(base_url, "/v1"), **(client_args or {})},
                        model_id=model_id, **config)


# The mistralai SDK counts its timeout in milliseconds.
TIMEOUT_MS = TimeoutOptions("client_args timeout_ms (connect and read; also the default progress_timeout)",
                            lambda seconds: {"client_args": {"timeout_ms": round(seconds * 1000)}})
PROVIDERS = (ProviderEntry("mistral", mistral_factory, (), named_params("temperature", "top_p"), wire="mistral",
                           timeouts=TIMEOUT_MS),)
