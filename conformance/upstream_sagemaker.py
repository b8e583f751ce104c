"""Suite factory for the upstream `strands.models.sagemaker.SageMakerAIModel`, which talks through boto3.

    pytest conformance --conformance-provider conformance.upstream_sagemaker:sagemaker --conformance-wire sagemaker

boto3 sends its requests through urllib3, which the in-process respx replay cannot see, so the factory
declares `conformance_transport = "sockets"`: the harness serves each cassette from its loopback server
on 127.0.0.1 and passes that URL as `base_url`. SageMakerAIModel takes no endpoint URL, so the factory
replaces the model's public `client` with one built from the same session and configuration plus
`endpoint_url` (what a user with a VPC endpoint does); nothing else of the model is touched. The session
carries dummy credentials (SigV4 signs, nothing checks) and the client retries nothing: throttling is
retried by the Strands event loop and a replayed cassette holds one answer. Its timeouts are
SageMakerAIModel's own `boto_client_config` read and connect timeouts, as for our reference provider.

The endpoint is named after the suite's model id. The case parameters are the container's body fields,
which SageMakerAIModel keeps in its `payload_config` (named sampling keys, the rest in `additional_args`);
its update_config changes only the endpoint configuration, so the suite's `update_config(params=...)`
goes to the payload configuration here, as a user would set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strands.models import Model

from conformance.wires.bedrock_converse import TIMEOUTS as BOTO_TIMEOUTS

__all__ = ["sagemaker"]

# The payload keys SageMakerAIModel names; any other case parameter is a body field of `additional_args`.
NAMED_PAYLOAD_KEYS = ("max_tokens", "temperature", "top_p", "top_k", "stop")


def payload_config(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The case's parameters as SageMakerAIModel's `payload_config`."""
    params = dict(params or {})
    config: dict[str, Any] = {key: params.pop(key) for key in NAMED_PAYLOAD_KEYS if key in params}
    if params:
        config["additional_args"] = params
    return config


def sagemaker(*, base_url: str, model_id: str, api_key: str = "EMPTY", boto_client_config: Any = None,
              **config: Any) -> Model:
    """strands-agents' SageMakerAIModel (boto3) against `base_url` as its runtime endpoint."""
    import boto3
    from botocore.config import Config
    from strands.models.sagemaker import SageMakerAIModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_sagemaker:sagemaker takes only params=... besides the connection; got {unknown}")

    class SuiteSageMakerAIModel(SageMakerAIModel):
        def update_config(self, **endpoint_config: Any) -> None:  # type: ignore[override]
            if "params" in endpoint_config:
                self.payload_config.update(payload_config(endpoint_config.pop("params")))  # type: ignore[typeddict-item]
            super().update_config(**endpoint_config)

    session = boto3.Session(aws_access_key_id="conformance", aws_secret_access_key="conformance",
                            region_name="us-east-1")
    client_config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=10, connect_timeout=5)
    if boto_client_config is not None:
        client_config = client_config.merge(boto_client_config)
    model = SuiteSageMakerAIModel({"endpoint_name": model_id, "region_name": "us-east-1"},
                                  payload_config(config.get("params")), boto_session=session,
                                  boto_client_config=client_config)
    model.client = session.client("sagemaker-runtime", endpoint_url=base_url,
                                  config=client_config.merge(Config(user_agent_extra="strands-agents")))
    return model


sagemaker.conformance_transport = "sockets"  # type: ignore[attr-defined]
sagemaker.conformance_timeouts = BOTO_TIMEOUTS  # type: ignore[attr-defined]
