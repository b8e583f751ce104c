"""OpenAI chat completions through the litellm library: the openai-chat wire, with only recorded traffic.

Its folder holds what the real litellm sent to llama.cpp and vLLM; the written OpenAI-chat quirks run
with `--conformance-provider litellm --conformance-wire openai-chat`.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry
from conformance.wires._types import WireFamily
from conformance.wires.openai_chat import CHAT_CONTENT, NO_CITATIONS, decode_openai_chat, read_openai_chat_request

EXTRA_CASES = ()
WIRE = WireFamily(
    name="litellm", api_prefix="/v1", decode=decode_openai_chat, read_request=read_openai_chat_request,
    description="OpenAI chat completions through the litellm library (recorded from llama.cpp and vLLM)",
    stop_reasons={"finish_stop": "end_turn", "finish_length": "max_tokens", "finish_tool_calls": "tool_use"},
    unsupported=NO_CITATIONS, content=CHAT_CONTENT, request_schema="openai-chat.request.json",
    only_recorded="not recorded through LiteLLM; its written quirks run with --conformance-provider litellm --conformance-wire openai-chat",
)


def litellm_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                    **config: Any) -> Model:
    from providers.litellm import LiteLLMModel

    # Routed as LiteLLM's hosted_vllm provider (any OpenAI-compatible server), the model id left as served.
    return LiteLLMModel(client_args={"api_base": base_url, "api_key": api_key, "custom_llm_provider": "hosted_vllm",
                                     **(client_args or {})}, model_id=model_id, **config)


PROVIDERS = (ProviderEntry("litellm", litellm_factory, ("vllm", "llamacpp"), wire="litellm",
                           timeouts=CLIENT_ARGS_TIMEOUT),)
