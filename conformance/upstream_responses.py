"""Suite factory for the upstream `strands.models.openai_responses.OpenAIResponsesModel`, certified like any third party.

    pytest conformance -m "not live" --conformance-provider conformance.upstream_responses:openai_responses \
        --conformance-wire openai-responses

The provider goes through the openai SDK (>= 2), whose client is httpx, so the cassettes replay in-process.
It is configured as its documentation shows, with the adaptations `conformance.upstream` makes for the
chat provider: the cases' `max_tokens` is the Responses API's `max_output_tokens`, request fields the
SDK does not take by name (vLLM's `structured_outputs`) travel in `extra_body`, and the SDK's own
retries are off (`max_retries=0`): the Strands event loop retries throttling, and a cassette holds one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strands.models import Model

from conformance.upstream import _unnamed_into_extra_body
from conformance.wires.openai_responses import responses_params

__all__ = ["openai_responses"]


def _sdk_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The suite's case parameters as `OpenAIResponsesModel`'s `params` (the SDK's `responses.create` arguments)."""
    from openai.resources.responses import AsyncResponses

    mapped = responses_params(params or {}).get("params", {})
    return _unnamed_into_extra_body(mapped, AsyncResponses.create)


def openai_responses(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.openai_responses import OpenAIResponsesModel

    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream_responses:openai_responses takes only params=... besides the "
                        f"connection; got {unknown}")

    class SuiteOpenAIResponsesModel(OpenAIResponsesModel):
        """Takes the suite's `update_config(params=...)` in the suite's names, as at construction."""

        def update_config(self, **model_config: Any) -> None:  # type: ignore[override]
            if "params" in model_config:
                model_config["params"] = _sdk_params(model_config["params"])
            super().update_config(**model_config)

    client_args = {"base_url": base_url, "api_key": api_key, "max_retries": 0}
    return SuiteOpenAIResponsesModel(client_args=client_args, model_id=model_id, params=_sdk_params(config.get("params")))
