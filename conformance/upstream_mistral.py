"""Suite factory for the upstream `strands.models.mistral.MistralModel`, whose SDK talks through httpx2.

    pytest conformance --conformance-provider conformance.upstream_mistral:mistral --conformance-wire mistral

The mistralai SDK sends its requests through httpx2, a separate package the in-process respx replay
(which patches httpx) cannot see, so the factory declares `conformance_transport = "sockets"`: the
harness serves each cassette from its loopback server on 127.0.0.1 and passes that URL as `base_url`;
the SDK's `server_url` is its root (the SDK adds /v1 itself). The SDK retries nothing unless a
`retry_config` is given, which suits the suite: throttling is retried by the Strands event loop and a
replayed cassette holds one answer. MistralModel names its sampling keys (temperature, top_p), so its
update_config also takes the suite's `params=...`, mapped as for our reference `mistral` provider.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.upstream import mapping_update_config, wire_config
from conformance.wires._reference import server_root

__all__ = ["mistral"]


def mistral(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' MistralModel (mistralai SDK on httpx2) against `base_url`'s server root."""
    from strands.models.mistral import MistralModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_mistral:mistral takes only params=... besides the connection; got {unknown}")
    model_class = mapping_update_config(MistralModel, "mistral")
    return model_class(api_key, client_args={"server_url": server_root(base_url, "/v1")}, model_id=model_id,
                       **wire_config("mistral", config.get("params")))


mistral.conformance_transport = "sockets"  # type: ignore[attr-defined]
