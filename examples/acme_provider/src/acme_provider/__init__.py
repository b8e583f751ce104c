"""Acme's Strands model provider: Acme's inference service speaks the OpenAI chat-completions format.

`make_model` is the factory the provider-conformance gate calls (`--provider acme_provider:make_model`).
"""

from __future__ import annotations

from typing import Any

from strands.models.openai import OpenAIModel

__all__ = ["AcmeModel", "make_model"]

DEFAULT_BASE_URL = "https://inference.acme.example/v1"


class AcmeModel(OpenAIModel):
    """Acme's service is OpenAI-compatible: the SDK's provider with Acme's endpoint and defaults."""

    def __init__(self, *, model_id: str, api_key: str, base_url: str = DEFAULT_BASE_URL, params: dict[str, Any] | None = None) -> None:
        super().__init__(client_args={"base_url": base_url, "api_key": api_key}, model_id=model_id, params=params or {})


def make_model(*, base_url: str, model_id: str, api_key: str, **config: Any) -> AcmeModel:
    """The gate's factory: `base_url` is the API base (ends in /v1), `config` carries `params`."""
    return AcmeModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)
