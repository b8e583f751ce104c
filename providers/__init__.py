"""Reference Strands model providers for servers speaking the OpenAI chat-completions format.

All four share one streaming core (``providers._openai_chat``) and one event assembler
(``providers._assembler``); errors they raise are in ``providers.errors``.
"""

from .llamacpp import LlamaCppModel
from .neuron import NeuronModel
from .openai import OpenAIModel
from .vllm import VLLMModel

__all__ = ["LlamaCppModel", "NeuronModel", "OpenAIModel", "VLLMModel"]
