"""Suite factory for the upstream `strands.models.bedrock.BedrockModel`, which talks through boto3.

    pytest conformance --conformance-provider conformance.upstream_bedrock:bedrock --conformance-wire bedrock-converse

boto3 sends its requests through urllib3, which the in-process respx replay cannot see, so the
factory declares `conformance_transport = "sockets"`: the harness serves each cassette from its
loopback server on 127.0.0.1 and passes that URL as `base_url` (the client's `endpoint_url`).
The session carries dummy credentials (SigV4 signs, nothing checks) and the client retries nothing:
throttling is retried by the Strands event loop and a replayed cassette holds one answer.
BedrockModel names its sampling keys (temperature, max_tokens), so its update_config also takes the
suite's `params=...`, mapped as for the other upstream providers with named keys.
A module of its own because `conformance/upstream.py` (the other upstream factories) has no
Bedrock one; the case parameters map as for our reference `bedrock` provider.
"""

from __future__ import annotations

from typing import Any

from strands.models import Model

from conformance.upstream import mapping_update_config, wire_config

__all__ = ["bedrock"]


def bedrock(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' BedrockModel (boto3) against `base_url` as its endpoint_url."""
    import boto3
    from botocore.config import Config
    from strands.models.bedrock import BedrockModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_bedrock:bedrock takes only params=... besides the connection; got {unknown}")
    session = boto3.Session(aws_access_key_id="conformance", aws_secret_access_key="conformance",
                            region_name="us-east-1")
    client_config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=10, connect_timeout=5)
    model_class = mapping_update_config(BedrockModel, "bedrock")
    return model_class(boto_session=session, endpoint_url=base_url, model_id=model_id,
                       boto_client_config=client_config, **wire_config("bedrock", config.get("params")))


bedrock.conformance_transport = "sockets"  # type: ignore[attr-defined]
