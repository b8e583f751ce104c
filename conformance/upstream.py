"""Suite factories for the upstream providers, so the gate certifies them like any third party.

    pytest conformance --conformance-provider conformance.upstream:openai --conformance-wire openai-chat

- `openai`: `strands.models.openai.OpenAIModel` (strands-agents).
- `llamacpp`: `strands.models.llamacpp.LlamaCppModel` (strands-agents).
- `neuron`: `strands_neuron.NeuronModel` (strands-neuron 0.1.3, the `upstream` extra) with its
  constructor's blocking `GET {base_url}/models` probe turned off, so the checks judge its streaming
  code; `neuron_as_shipped` keeps the probe, which fails every replayed check on its own (a request
  no cassette holds, and up to 4 s of blocking per construction when the server is down).
- `vllm`: `strands_vllm.VLLMModel` (strands-vllm 0.0.6); it needs `openai<2`, so it runs in an
  environment of its own (`scripts/certify-upstream.sh` makes it).
- `anthropic`, `ollama`, `writer`, `llamaapi`: strands-agents' providers on their own wire families
  (`--conformance-wire anthropic|ollama|writer|llama-api`), with the suite's parameter mappings for those wires,
  also in `update_config(params=...)` for the providers whose sampling settings are named keys.
  Not here: MistralModel (its SDK is on httpx2, which the in-process replay cannot intercept),
  LiteLLMModel (litellm fetches its model cost map over the network at run time), BedrockModel (boto3:
  `conformance/upstream_bedrock.py`, replayed through the loopback server).

Each factory configures the provider the way its documentation shows, with two adaptations the
suite needs and a user could make the same way: request fields the openai SDK does not take by name
(the cases send vLLM's `structured_outputs`) travel in `extra_body`, and the SDK's own retries are
off (`max_retries=0`), since throttling is retried by the Strands event loop and a replayed cassette
holds one answer. Known defects live in `conformance/baselines/upstream-<name>.json`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from strands.models import Model

from conformance.wires import REFERENCE_PROVIDERS
from conformance.wires._reference import server_root
from conformance.wires.anthropic import anthropic_params
from conformance.wires.ollama import ollama_params
from conformance.wires.openai_chat import upstream_llamacpp_factory


def _unnamed_into_extra_body(params: Mapping[str, Any] | None, method: Any) -> dict[str, Any]:
    """`params` for an SDK `method`: the request fields it does not take by name moved into `extra_body`."""
    named = set(inspect.signature(method).parameters) - {"self"}
    shaped = dict(params or {})
    extra = {key: shaped.pop(key) for key in list(shaped) if key not in named}
    if extra:
        shaped["extra_body"] = {**shaped.get("extra_body", {}), **extra}
    return shaped


def _sdk_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` for a provider built on the openai SDK."""
    from openai.resources.chat.completions import AsyncCompletions

    return _unnamed_into_extra_body(params, AsyncCompletions.create)


def wire_config(reference: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The suite's own mapping of case parameters for this wire's reference provider (same SDK names)."""
    return REFERENCE_PROVIDERS[reference].params_to_config(params or {})


def mapping_update_config(model_class: type[Model], reference: str) -> type[Model]:
    """`model_class` whose update_config also takes the suite's `params=...`, mapped to the provider's own keys.

    The suite hands a third-party factory's model `update_config(params=...)`; providers with named
    sampling keys (temperature, top_p, options) take no `params`, so the wire's mapping translates it,
    as a user of the provider would, and the provider's own update_config then applies it.
    """

    def update_config(self: Model, **model_config: Any) -> None:
        if "params" in model_config:
            model_config.update(wire_config(reference, model_config.pop("params")))
        model_class.update_config(self, **model_config)

    return type(model_class.__name__, (model_class,), {"update_config": update_config})


def _reject_unknown(name: str, config: Mapping[str, Any]) -> None:
    unknown = sorted(set(config) - {"params"})
    if unknown:
        raise TypeError(f"conformance.upstream:{name} takes only params=... besides the connection; got {unknown}")


def openai(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    from strands.models.openai import OpenAIModel

    _reject_unknown("openai", config)
    client_args = {"base_url": base_url, "api_key": api_key, "max_retries": 0}
    return OpenAIModel(client_args=client_args, model_id=model_id, params=_sdk_params(config.get("params")))


def llamacpp(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    _reject_unknown("llamacpp", config)
    # The suite's own factory: llama.cpp takes the server root, sends no key, puts params in the body.
    return upstream_llamacpp_factory(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def _neuron(name: str, probe: bool, base_url: str, model_id: str, api_key: str, config: Mapping[str, Any]) -> Model:
    from strands_neuron import NeuronModel

    _reject_unknown(name, config)
    model_class = NeuronModel
    if not probe:
        model_class = type("NeuronModelWithoutProbe", (NeuronModel,), {"_check_server_online": lambda self: None})
    # NeuronModel builds its own AsyncOpenAI client per request; its params go to chat.completions.create.
    return model_class({"model_id": model_id, "base_url": base_url, "api_key": api_key,
                        "params": _sdk_params(config.get("params"))})


def neuron(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    return _neuron("neuron", False, base_url, model_id, api_key, config)


def neuron_as_shipped(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    return _neuron("neuron_as_shipped", True, base_url, model_id, api_key, config)


def vllm(*, base_url: str, model_id: str, api_key: str = "EMPTY", return_token_ids: bool = False,
         **config: Any) -> Model:
    from openai import AsyncOpenAI
    from strands_vllm import VLLMModel

    _reject_unknown("vllm", config)

    def update_config(self: Model, **model_config: Any) -> None:
        # The same extra_body adaptation as at construction; VLLMModel's own update_config then replaces
        # params as it does for any user (with the return_token_ids it had put in extra_body).
        if "params" in model_config:
            model_config["params"] = _sdk_params(model_config["params"])
        VLLMModel.update_config(self, **model_config)

    model_class = type(VLLMModel.__name__, (VLLMModel,), {"update_config": update_config})
    # VLLMModel accepts a ready client: the only way to turn off the SDK's own retries.
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    return model_class(base_url=base_url, model_id=model_id, api_key=api_key, client=client,
                       return_token_ids=return_token_ids, params=_sdk_params(config.get("params")))


# strands-vllm's VLLMModel(return_token_ids=True) passes vLLM's ids on in messageStop, as the checks expect.
vllm.conformance_token_ids = True  # type: ignore[attr-defined]


def anthropic(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' AnthropicModel (anthropic SDK), for `--conformance-wire anthropic`."""
    from anthropic.resources.messages import AsyncMessages
    from strands.models.anthropic import AnthropicModel

    _reject_unknown("anthropic", config)
    shaped = anthropic_params(config.get("params") or {})
    # As for the openai SDK: request fields the anthropic SDK does not take by name go in extra_body.
    rest = _unnamed_into_extra_body(shaped.pop("params", {}), AsyncMessages.stream)
    client_args = {"base_url": server_root(base_url, "/v1"), "api_key": api_key, "max_retries": 0}
    return AnthropicModel(client_args=client_args, model_id=model_id, **shaped, **({"params": rest} if rest else {}))


def ollama(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' OllamaModel (ollama SDK, native /api/chat), for `--conformance-wire ollama`."""
    from strands.models.ollama import OllamaModel

    _reject_unknown("ollama", config)
    return mapping_update_config(OllamaModel, "ollama")(base_url, model_id=model_id,
                                                         **ollama_params(config.get("params") or {}))


def writer(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' WriterModel (writer-sdk), for `--conformance-wire writer`."""
    from strands.models.writer import WriterModel

    _reject_unknown("writer", config)
    # The writer SDK adds /v1 to its base URL itself.
    client_args = {"api_key": api_key, "base_url": server_root(base_url, "/v1"), "max_retries": 0}
    return mapping_update_config(WriterModel, "writer")(client_args, model_id=model_id,
                                                         **wire_config("writer", config.get("params")))


def llamaapi(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    """strands-agents' LlamaAPIModel (llama-api-client), for `--conformance-wire llama-api`."""
    from strands.models.llamaapi import LlamaAPIModel

    _reject_unknown("llamaapi", config)
    client_args = {"api_key": api_key, "base_url": base_url, "max_retries": 0}
    return mapping_update_config(LlamaAPIModel, "llamaapi")(client_args=client_args, model_id=model_id,
                                                             **wire_config("llamaapi", config.get("params")))

