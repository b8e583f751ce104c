"""How the suite builds a provider: `ProviderEntry` and the small pieces several wires' factories share.

A factory is `factory(base_url=..., model_id=..., api_key=..., **config) -> strands.models.Model`, where
`base_url` is the wire's API base. Every SDK names request parameters differently, so an entry also says
how the cases' parameters (`max_tokens`, extra body fields such as vLLM's `structured_outputs`) become
that provider's configuration; third-party factories get them as `params={...}` (the common convention).

Token ids: a factory that sets `factory.conformance_token_ids = True` promises that, called with the extra
keyword `return_token_ids=True`, it builds a model that asks the server for them (vLLM's
`return_token_ids` request field) and ends every model call's stream with
`messageStop.additionalModelResponseFields = {"prompt_token_ids": [...], "token_ids": [...]}`: the
prompt's ids and every generated id, as the server sent them (what `providers.training.TokenRecorder`
and strands-vllm's `VLLMTokenRecorder` read). The token-id checks run only for such a provider; for
any other they are not applicable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strands.models import Model

__all__ = [
    "CLIENT_ARGS_TIMEOUT", "TOKEN_IDS_ATTRIBUTE", "TRANSPORTS", "Factory", "ProviderEntry", "TimeoutOptions",
    "named_params", "params_as_params", "server_root",
]

Factory = Callable[..., Model]
# "httpx": replayed in-process by respx. "sockets": a client respx cannot see (boto3's urllib3): the
# cassette is served by a loopback server on 127.0.0.1 whose URL is the provider's base_url.
TRANSPORTS = ("httpx", "sockets")
TOKEN_IDS_ATTRIBUTE = "conformance_token_ids"


def params_as_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"params": dict(params)} if params else {}


def named_params(*named: str, max_tokens_key: str = "max_tokens") -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The mapping of a provider whose sampling settings are named keys; any other parameter is an error."""

    def convert(params: Mapping[str, Any]) -> dict[str, Any]:
        config = {key: value for key, value in params.items() if key in named}
        if "max_tokens" in params:
            config[max_tokens_key] = params["max_tokens"]
        unknown = sorted(set(params) - set(named) - {"max_tokens"})
        if unknown:
            raise ValueError(f"this provider has no configuration for request parameters {unknown}")
        return config

    return convert


def server_root(base_url: str, prefix: str) -> str:
    """`base_url` without the wire's API prefix, for SDKs that add it themselves."""
    trimmed = base_url.rstrip("/")
    return trimmed[: -len(prefix)] if prefix and trimmed.endswith(prefix) else trimmed


@dataclass(frozen=True)
class TimeoutOptions:
    """How the suite gives a provider short timeouts, so a check of a hostile server ends in seconds.

    `config(seconds)` is the keyword arguments the factory gets on top of its others: they set the
    provider's connect and read timeout and its progress deadline (no new content for that long ends
    the stream) to `seconds`. `names` is how the provider documents those options, for the checks'
    messages. A third-party factory declares one as `factory.conformance_timeouts`.
    """

    names: str
    config: Callable[[float], dict[str, Any]]


# Most SDKs take `timeout` (seconds) among their client arguments; our factories merge `client_args` in.
CLIENT_ARGS_TIMEOUT = TimeoutOptions("client_args timeout (connect and read; also the default progress_timeout)",
                                     lambda seconds: {"client_args": {"timeout": seconds}})


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    factory: Factory
    # Live servers this provider is meant for (its matrix cells in `--conformance-live` without `--conformance-base-url`).
    server_kinds: tuple[str, ...]
    params_to_config: Callable[[Mapping[str, Any]], dict[str, Any]] = params_as_params
    # The wire family this provider speaks: its cassettes replay when no --conformance-wire overrides it.
    wire: str = "openai-chat"
    transport: str = "httpx"  # one of TRANSPORTS
    # False for the SDK's own providers kept for comparison: named with --conformance-provider, not in the default matrix.
    in_default_matrix: bool = True
    # How to set its timeouts and progress deadline (the robustness checks); None: it declares none.
    timeouts: TimeoutOptions | None = None

    @property
    def token_ids(self) -> bool:
        """The factory declares the token-id capability (see the module docstring)."""
        return getattr(self.factory, TOKEN_IDS_ATTRIBUTE, False) is True

    def build(self, *, base_url: str, model_id: str, api_key: str, params: Mapping[str, Any] | None = None,
              token_ids: bool = False) -> Model:
        config = self.params_to_config(params or {})
        if token_ids:
            config["return_token_ids"] = True
        return self.factory(base_url=base_url, model_id=model_id, api_key=api_key, **config)
