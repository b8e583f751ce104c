"""Acme's Strands model provider: Acme's inference service speaks the OpenAI chat-completions format.

`make_model` is the factory the provider-conformance gate calls (`--conformance-provider acme_provider:make_model`).
"""

from __future__ import annotations

import inspect
from typing import Any

from openai.resources.chat.completions import AsyncCompletions
from strands.models.openai import OpenAIModel

__all__ = ["AcmeModel", "make_model"]

DEFAULT_BASE_URL = "https://inference.acme.example/v1"
# Request fields the openai SDK takes by name; any other (a server's own, such as vLLM's
# `structured_outputs`) must travel in `extra_body`, or the SDK refuses the call.
_SDK_FIELDS = frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self"}


class AcmeModel(OpenAIModel):
    """Acme's service is OpenAI-compatible: the SDK's provider with Acme's endpoint and defaults."""

    def __init__(
        self, *, model_id: str, api_key: str, base_url: str = DEFAULT_BASE_URL, params: dict[str, Any] | None = None
    ) -> None:
        params = dict(params or {})
        extra = {key: params.pop(key) for key in list(params) if key not in _SDK_FIELDS}
        if extra:
            params["extra_body"] = {**params.get("extra_body", {}), **extra}
        # max_retries=0: throttling is retried by the Strands event loop, with its own backoff.
        client_args = {"base_url": base_url, "api_key": api_key, "max_retries": 0}
        super().__init__(client_args=client_args, model_id=model_id, params=params)


def make_model(*, base_url: str, model_id: str, api_key: str, **config: Any) -> AcmeModel:
    """The gate's factory: `base_url` is the API base (ends in /v1), `config` carries `params`."""
    return AcmeModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)
