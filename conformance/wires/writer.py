"""Writer chat: OpenAI-shaped SSE chunks, read by the openai-chat decoder and request reader."""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry, named_params
from conformance.wires._types import WireFamily
from conformance.wires.mistral import NO_REASONING
from conformance.wires.openai_chat import (
    CHAT_CONTENT, FINISH_STOP_REASONS, NO_CITATIONS, OPENAI_ONLY, decode_openai_chat, read_openai_chat_request,
)

EXTRA_CASES = ()
WIRE = WireFamily(
    name="writer", api_prefix="/v1", decode=decode_openai_chat, read_request=read_openai_chat_request,
    description="Writer chat (OpenAI-shaped SSE chunks)",
    stop_reasons=FINISH_STOP_REASONS,
    unsupported={**OPENAI_ONLY, **NO_REASONING, **NO_CITATIONS, "usage_cached": "this wire reports no cache token counts"},
    content=CHAT_CONTENT, request_schema="openai-chat.request.json",
)


def writer_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                   **config: Any) -> Model:
    from providers.writer import WriterModel

    return WriterModel({"api_key": api_key, "base_url": base_url, **(client_args or {})}, model_id=model_id, **config)


PROVIDERS = (ProviderEntry("writer", writer_factory, (), named_params("temperature", "top_p", "stop"), wire="writer",
                           timeouts=CLIENT_ARGS_TIMEOUT),)
