"""Reference Strands model providers for servers speaking the OpenAI chat-completions format.

All four share one streaming core (``providers._openai_chat``) and one event assembler
(``providers._assembler``); errors they raise are in ``providers.errors``.
"""

from .llamacpp import LlamaCppModel
from .neuron import NeuronModel
from .openai import OpenAIModel
from .vllm import VLLMModel
from .anthropic import AnthropicModel
from .bedrock import BedrockModel
from .litellm import LiteLLMModel
from .llamaapi import LlamaAPIModel
from .mistral import MistralModel
from .ollama import OllamaModel
from .writer import WriterModel

__all__ = ["LlamaCppModel", "NeuronModel", "OpenAIModel", "VLLMModel"]
__all__ += ["AnthropicModel", "BedrockModel", "LiteLLMModel", "LlamaAPIModel", "MistralModel", "OllamaModel", "WriterModel"]
