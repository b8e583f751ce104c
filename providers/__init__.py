"""Reference Strands model providers, one per wire family the conformance suite checks.

Fifteen models: the OpenAI chat-completions servers (``LlamaCppModel``, ``NeuronModel``,
``OpenAIModel``, ``VLLMModel``, ``MistralModel``, ``WriterModel``, and ``SageMakerAIModel`` whose
event-stream parts carry the same chunks) share one streaming core (``providers._openai_chat``);
``AnthropicModel``, ``BedrockModel``, ``OllamaModel``, ``LlamaAPIModel``, ``GeminiModel``,
``OpenAIResponsesModel`` and ``SGLangModel`` (SGLang's native ``/generate``) decode their own wires over
the same wire-neutral HTTP base (``providers._wire_model``); ``LiteLLMModel`` goes through the litellm
library. All of them feed one event assembler (``providers._assembler``); the errors they raise are in ``providers.errors``.

The models are imported on first use (PEP 562), so ``import providers.errors`` (the load tests'
context-overflow wording, for one) does not import strands, httpx or litellm.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AnthropicModel",
    "BedrockModel",
    "GeminiModel",
    "LiteLLMModel",
    "LlamaAPIModel",
    "LlamaCppModel",
    "MistralModel",
    "NeuronModel",
    "OllamaModel",
    "OpenAIModel",
    "OpenAIResponsesModel",
    "SGLangModel",
    "SageMakerAIModel",
    "VLLMModel",
    "WriterModel",
]

# Public name -> the module that defines it.
_MODULES = {
    "AnthropicModel": "anthropic",
    "BedrockModel": "bedrock",
    "GeminiModel": "gemini",
    "LiteLLMModel": "litellm",
    "LlamaAPIModel": "llamaapi",
    "LlamaCppModel": "llamacpp",
    "MistralModel": "mistral",
    "NeuronModel": "neuron",
    "OllamaModel": "ollama",
    "OpenAIModel": "openai",
    "OpenAIResponsesModel": "openai_responses",
    "SGLangModel": "sglang",
    "SageMakerAIModel": "sagemaker",
    "VLLMModel": "vllm",
    "WriterModel": "writer",
}

if TYPE_CHECKING:
    from .anthropic import AnthropicModel
    from .bedrock import BedrockModel
    from .gemini import GeminiModel
    from .litellm import LiteLLMModel
    from .llamaapi import LlamaAPIModel
    from .llamacpp import LlamaCppModel
    from .mistral import MistralModel
    from .neuron import NeuronModel
    from .ollama import OllamaModel
    from .openai import OpenAIModel
    from .openai_responses import OpenAIResponsesModel
    from .sagemaker import SageMakerAIModel
    from .sglang import SGLangModel
    from .vllm import VLLMModel
    from .writer import WriterModel


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
