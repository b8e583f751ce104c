"""Suite factory for the upstream `strands.models.gemini.GeminiModel`, which talks through google-genai.

    pytest conformance --conformance-provider conformance.upstream_gemini:gemini --conformance-wire gemini

google-genai's async client uses aiohttp whenever aiohttp is installed (and httpx only when handed an
httpx client or transport), so the in-process respx replay cannot see what a user's GeminiModel sends:
the factory declares `conformance_transport = "sockets"`, the harness serves each cassette from its
loopback server on 127.0.0.1 and passes that URL as `base_url` (the client's `http_options.base_url`).
The client is configured as its documentation shows (`api_key`, `http_options`); google-genai retries
nothing unless told to, so throttling is left to the Strands event loop. The case parameters map as for
our reference `gemini` provider (GenerateContentConfig fields in `params`, `max_output_tokens`), also
in `update_config(params=...)`. A module of its own because `conformance/upstream.py` has no Gemini one.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.upstream import mapping_update_config, wire_config
from conformance.wires._reference import server_root
from conformance.wires.gemini import TIMEOUT

__all__ = ["gemini"]


def gemini(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
           **config: Any) -> Model:
    """strands-agents' GeminiModel (google-genai) against `base_url` as its http_options.base_url."""
    from strands.models.gemini import GeminiModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_gemini:gemini takes only params=... besides the connection; got {unknown}")
    http_options = {"base_url": server_root(base_url, "/v1beta"), "api_version": "v1beta",
                    **(client_args or {}).get("http_options", {})}
    model_class = mapping_update_config(GeminiModel, "gemini")
    return model_class(client_args={"api_key": api_key, "http_options": http_options}, model_id=model_id,
                       **wire_config("gemini", config.get("params")))


gemini.conformance_transport = "sockets"  # type: ignore[attr-defined]
gemini.conformance_timeouts = TIMEOUT  # type: ignore[attr-defined]
