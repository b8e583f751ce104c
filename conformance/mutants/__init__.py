"""Deliberately broken providers, to prove the suite catches the bugs real providers have.

Each mutant wraps a correct provider (the reference `providers.OpenAIModel` by default) and corrupts
one thing, a failure class seen in bug reports filed against real providers: a dropped
`contentBlockStop`, a wrong stop reason, lost usage, merged parallel tool calls, an error swallowed
into an empty `end_turn`, and so on. Each is a suite factory, so the suite runs it like any
third-party provider:

    pytest conformance --conformance-provider conformance.mutants:dropped_block_stop --conformance-wire openai-chat

`conformance.mutants:faithful` wraps without corrupting anything: the control run. A mutant is
caught when a check that passes for `faithful` fails for the mutant (`tests/conformance/test_mutants.py`).

Each module listed in `MUTANT_MODULES` declares its `MUTATIONS`; this registry joins them, so a new
family of checks brings its mutants in a module of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strands.models import Model

from conformance.wires._reference import CLIENT_ARGS_TIMEOUT
from conformance.wires.openai_chat import openai_factory

from . import events, requests, robustness, streaming
from .model import EventFilter, MutantModel, Mutation, StreamCall

MUTANT_MODULES = (events, requests, robustness, streaming)

MUTATIONS: dict[str, Mutation] = {}
for _module in MUTANT_MODULES:
    for _name, _mutation in _module.MUTATIONS.items():
        if _name in MUTATIONS:
            raise RuntimeError(f"mutant {_name!r} declared twice (again in {_module.__name__})")
        MUTATIONS[_name] = _mutation


def _inner_model(base_url: str, model_id: str, api_key: str, config: dict[str, Any]) -> Model:
    return openai_factory(base_url=base_url, model_id=model_id, api_key=api_key, **config)


def mutant(name: str, *, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> MutantModel:
    """The mutant `name` around the reference OpenAI-compatible provider."""
    if name not in MUTATIONS:
        raise ValueError(f"no mutant named {name!r}; known: {', '.join(MUTATIONS)}")
    return MutantModel(_inner_model(base_url, model_id, api_key, config), MUTATIONS[name])


def _factory(name: str) -> Callable[..., MutantModel]:
    def factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> MutantModel:
        return mutant(name, base_url=base_url, model_id=model_id, api_key=api_key, **config)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Suite factory of the mutant {name!r}: {MUTATIONS[name].defect}."
    factory.conformance_timeouts = CLIENT_ARGS_TIMEOUT  # type: ignore[attr-defined] - the inner provider's
    return factory


def __getattr__(name: str) -> Any:
    """One suite factory per mutant, so `--conformance-provider conformance.mutants:NAME` resolves."""
    if name in MUTATIONS:
        return _factory(name)
    if name in _RUNNER_NAMES:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RUNNER_NAMES = ("CONTROL", "REFERENCE", "CheckOutcome", "MutationRunError", "caught_by", "differences", "run_all", "run_suite", "main")

__all__ = ["EventFilter", "MUTATIONS", "MutantModel", "Mutation", "StreamCall", "mutant", *_RUNNER_NAMES]
