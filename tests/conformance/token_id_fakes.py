"""Provider factories for the token-id checks' own tests: each declares the capability and breaks it.

`silent` never asks for token ids, `shifted` passes on ids off by one, `raising` builds a model whose every stream raises (a factory that cannot build one at all is
stopped before any check by the suite's factory check),
`undeclared` is the reference vLLM provider without the declaration (its checks are not applicable).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strands.models import Model

from conformance.wires.openai_chat import vllm_factory
from providers import VLLMModel


def silent(*, return_token_ids: bool = False, **config: Any) -> Model:
    return vllm_factory(**config)


class ShiftedIdsModel(VLLMModel):
    """Passes on every response id plus one: the counts still match the usage, the text does not."""

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for event in super().stream(*args, **kwargs):
            fields = event.get("messageStop", {}).get("additionalModelResponseFields")
            if fields and fields.get("token_ids"):
                fields["token_ids"] = [token + 1 for token in fields["token_ids"]]
            yield event


def shifted(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    return ShiftedIdsModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


class RaisingModel(VLLMModel):
    """Builds, and raises on every request: the token-id checks must fail it, never pass it."""

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise RuntimeError("this model cannot stream")
        yield  # an async generator, as the contract asks


def raising(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> Model:
    return RaisingModel(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def undeclared(**config: Any) -> Model:
    return vllm_factory(**config)


for factory in (silent, shifted, raising):
    factory.conformance_token_ids = True  # type: ignore[attr-defined]
