"""providers/__init__.py: every model by name, imported only when asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

import providers

MODELS = {
    "AnthropicModel", "BedrockModel", "GeminiModel", "LiteLLMModel", "LlamaAPIModel", "LlamaCppModel", "MistralModel",
    "NeuronModel", "OllamaModel", "OpenAIModel", "OpenAIResponsesModel", "SGLangModel", "SageMakerAIModel", "VLLMModel", "WriterModel",
}


def test_all_lists_every_model():
    assert set(providers.__all__) == MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_resolves_to_its_class(name):
    model = getattr(providers, name)
    assert isinstance(model, type) and model.__name__ == name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchModel"):
        providers.NoSuchModel  # noqa: B018 - the lookup is the test


def test_importing_the_errors_imports_no_model_dependency():
    # A fresh interpreter: this one has imported everything already.
    heavy = "strands", "httpx", "litellm", "pydantic", "botocore"
    code = (
        "import sys, providers.errors; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
