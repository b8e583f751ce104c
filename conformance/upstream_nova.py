"""Suite factory for strands-amazon-nova's `NovaAPIModel`, an OpenAI-compatible chat-completions client.

    pytest conformance --conformance-provider conformance.upstream_nova:nova --conformance-wire openai-chat

strands-amazon-nova 1.0.2 (the `upstream` extra) posts to `{base_url}/chat/completions` with a new
`httpx.AsyncClient` per request, so the in-process respx replay sees it as it is: the factory only
points `base_url` (its default is the Nova API) at the replay. Its `params` go into the request body
as they are, which is where the suite's case parameters belong on this wire; it has no retries of its
own to turn off.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

__all__ = ["nova"]


def nova(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-amazon-nova's NovaAPIModel against `base_url` (the wire's /v1 base)."""
    from strands_amazon_nova import NovaAPIModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_nova:nova takes only params=... besides the connection; got {unknown}")
    return NovaAPIModel(model_id=model_id, api_key=api_key, base_url=base_url, params=dict(config.get("params") or {}))
