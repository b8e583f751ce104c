"""Suite factory for the upstream `strands.models.litellm.LiteLLMModel`, offline.

    pytest conformance --conformance-provider conformance.upstream_litellm:litellm --conformance-wire litellm

Two things keep litellm off the network. At import it fetches its model cost map from the internet
unless `LITELLM_LOCAL_MODEL_COST_MAP=True` (read once, by litellm 1.106's `get_model_cost_map`), so the
factory sets that before the first import of litellm; and it sends requests through its own aiohttp
transport, which the in-process respx replay cannot see, so the factory declares
`conformance_transport = "sockets"`: the harness serves each cassette from its loopback server on
127.0.0.1 and passes that URL as `base_url`. litellm runs as shipped otherwise. It is routed as
LiteLLM's `hosted_vllm` provider (any OpenAI-compatible server, the model id left as served), with the
SDK's retries off: throttling is retried by the Strands event loop and a replayed cassette holds one
answer. The case parameters go in `params`, which LiteLLMModel passes to `litellm.acompletion`.
"""

from __future__ import annotations

import os
from typing import Any

from strands.models import Model

__all__ = ["LOCAL_COST_MAP", "litellm"]

# The variable and value litellm reads to load its bundled cost map instead of downloading one.
LOCAL_COST_MAP = ("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def litellm(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' LiteLLMModel against `base_url` (the wire's /v1 base) as an OpenAI-compatible server."""
    name, value = LOCAL_COST_MAP
    os.environ.setdefault(name, value)
    from strands.models.litellm import LiteLLMModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_litellm:litellm takes only params=... besides the connection; got {unknown}")
    client_args = {"api_base": base_url, "api_key": api_key, "custom_llm_provider": "hosted_vllm", "max_retries": 0}
    return LiteLLMModel(client_args=client_args, model_id=model_id, params=dict(config.get("params") or {}))


litellm.conformance_transport = "sockets"  # type: ignore[attr-defined]
