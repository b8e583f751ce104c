"""Which provider the suite certifies: the reference names, or any `package.module:factory`.

A factory is `factory(base_url=..., model_id=..., api_key=..., **config) -> strands.models.Model`,
where `base_url` is the wire's API base (for openai-chat, the server root plus `/v1`). The suite
needs one more thing per provider: how request parameters the cases use (`max_tokens`, extra body
fields such as vLLM's `structured_outputs`) become that provider's configuration, since every SDK
names them differently; third-party factories get them as `params={...}` (the common convention).

`upstream-openai` and `upstream-llamacpp` wrap the SDK's own providers: not part of the default
matrix, but they show what the suite finds in the code the reference providers replace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strands.models import Model

__all__ = [
    "DEFAULT_MATRIX",
    "ProviderEntry",
    "ProviderSelectionError",
    "REFERENCE_PROVIDERS",
    "resolve_provider",
]

Factory = Callable[..., Model]
# "httpx": replayed in-process by respx. "sockets": a client respx cannot see (boto3's urllib3): the
# cassette is served by a loopback server on 127.0.0.1 whose URL is the provider's base_url.
TRANSPORTS = ("httpx", "sockets")


class ProviderSelectionError(ValueError):
    """`--provider` names nothing usable; the message lists the choices or the import failure."""


def _params_as_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"params": dict(params)} if params else {}


def _params_for_neuron(params: Mapping[str, Any]) -> dict[str, Any]:
    # strands-neuron's documented configuration: named sampling keys, the rest in additional_args.
    named = {"temperature", "top_p", "stop", "frequency_penalty", "presence_penalty"}
    config: dict[str, Any] = {key: value for key, value in params.items() if key in named}
    if "max_tokens" in params:
        config["max_completion_tokens"] = params["max_tokens"]
    extra = {key: value for key, value in params.items() if key not in named and key != "max_tokens"}
    if extra:
        config["additional_args"] = extra
    return config


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    factory: Factory
    # Live servers this provider is meant for (its matrix cells in `--live` without `--base-url`).
    server_kinds: tuple[str, ...]
    params_to_config: Callable[[Mapping[str, Any]], dict[str, Any]] = _params_as_params
    # The wire family this provider speaks: its cassettes replay when no --wire overrides it.
    wire: str = "openai-chat"
    transport: str = "httpx"  # one of TRANSPORTS

    def build(self, *, base_url: str, model_id: str, api_key: str, params: Mapping[str, Any] | None = None) -> Model:
        config = self.params_to_config(params or {})
        return self.factory(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def neuron_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import NeuronModel

    return NeuronModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def vllm_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import VLLMModel

    return VLLMModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def _strip_v1(base_url: str) -> str:
    trimmed = base_url.rstrip("/")
    return trimmed[: -len("/v1")] if trimmed.endswith("/v1") else trimmed


def llamacpp_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import LlamaCppModel

    # llama.cpp's provider takes the server root and adds /v1 itself; it has no API key.
    return LlamaCppModel(base_url=_strip_v1(base_url), model_id=model_id, **config)


def openai_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from providers import OpenAIModel

    return OpenAIModel(client_args={"base_url": base_url, "api_key": api_key}, model_id=model_id, **config)


def upstream_openai_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.openai import OpenAIModel

    return OpenAIModel(client_args={"base_url": base_url, "api_key": api_key}, model_id=model_id, **config)


def upstream_llamacpp_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.llamacpp import LlamaCppModel

    return LlamaCppModel(base_url=_strip_v1(base_url), model_id=model_id, **config)


REFERENCE_PROVIDERS: dict[str, ProviderEntry] = {
    entry.name: entry
    for entry in (
        ProviderEntry("neuron", neuron_factory, ("vllm",), _params_for_neuron),
        ProviderEntry("vllm", vllm_factory, ("vllm",)),
        ProviderEntry("llamacpp", llamacpp_factory, ("llamacpp",)),
        ProviderEntry("openai", openai_factory, ("vllm", "llamacpp")),
        ProviderEntry("upstream-openai", upstream_openai_factory, ("vllm", "llamacpp")),
        ProviderEntry("upstream-llamacpp", upstream_llamacpp_factory, ("llamacpp",)),
    )
}
# Every reference provider, each on its own wire (`pytest conformance` with no --provider).
DEFAULT_MATRIX = ("neuron", "vllm", "llamacpp", "openai", "anthropic", "bedrock", "ollama", "mistral", "writer",
                  "llamaapi", "litellm")


def resolve_provider(spec: str) -> ProviderEntry:
    """A reference name, or `package.module:factory` imported now so a typo fails before any test."""
    if ":" not in spec:
        if spec in REFERENCE_PROVIDERS:
            return REFERENCE_PROVIDERS[spec]
        raise ProviderSelectionError(
            f"--provider {spec!r} is not a reference provider; known: {', '.join(REFERENCE_PROVIDERS)}; "
            "or pass a factory as package.module:function"
        )
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ProviderSelectionError(f"--provider {spec!r}: expected package.module:factory with both parts")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of third-party code is the user's to see
        raise ProviderSelectionError(
            f"--provider {spec!r}: importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    factory = getattr(module, attribute, None)
    if factory is None:
        public = sorted(name for name in vars(module) if not name.startswith("_"))[:20]
        raise ProviderSelectionError(
            f"--provider {spec!r}: module {module_name!r} has no attribute {attribute!r} (it has: {', '.join(public)})"
        )
    if not callable(factory):
        raise ProviderSelectionError(f"--provider {spec!r}: {attribute!r} is a {type(factory).__name__}, not callable")
    # A factory may declare that its client is not httpx (`factory.conformance_transport = "sockets"`).
    transport = getattr(factory, "conformance_transport", "httpx")
    if transport not in TRANSPORTS:
        raise ProviderSelectionError(
            f"--provider {spec!r}: conformance_transport is {transport!r}; use one of {', '.join(TRANSPORTS)}"
        )
    return ProviderEntry(spec, factory, ("vllm", "llamacpp"), transport=transport)
