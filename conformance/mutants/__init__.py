"""Deliberately broken providers, to prove the suite catches the bugs real providers have.

Each mutant wraps a correct provider (the reference provider of one wire family) and corrupts one
thing, a failure class seen in bug reports filed against real providers: a dropped `contentBlockStop`,
a wrong stop reason, lost usage, merged parallel tool calls, an error swallowed into an empty
`end_turn`, and so on. Each is a suite factory, so the suite runs it like any
third-party provider:

    pytest conformance --conformance-provider conformance.mutants:dropped_block_stop --conformance-wire openai-chat
    pytest conformance --conformance-provider conformance.mutants:anthropic.lost_usage --conformance-wire anthropic

`NAME` wraps the reference OpenAI-chat provider, `PROVIDER.NAME` the reference provider PROVIDER
(`conformance.mutants.targets`). Mutations of the provider's events and of the Strands-level request carry
to every wire unchanged; the one that reads wire bytes frames them as its wire does (SSE events, NDJSON
lines, AWS event-stream frames). `faithful` wraps without corrupting anything: the control run. A
mutant is caught when a check that passes for `faithful` fails for the mutant
(`tests/conformance/test_mutants.py`, `python -m conformance.mutants --wire WIRE`).

Each module listed in `MUTANT_MODULES` declares its `MUTATIONS`; this registry joins them, so a new
family of checks brings its mutants in a module of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import events, requests, robustness, streaming
from .model import EventFilter, MutantModel, Mutation, StreamCall
from .targets import DEFAULT_PROVIDER, parse_attribute, provider_for, suite_factory

MUTANT_MODULES = (events, requests, robustness, streaming)

MUTATIONS: dict[str, Mutation] = {}
for _module in MUTANT_MODULES:
    for _name, _mutation in _module.MUTATIONS.items():
        if _name in MUTATIONS:
            raise RuntimeError(f"mutant {_name!r} declared twice (again in {_module.__name__})")
        MUTATIONS[_name] = _mutation


def mutant(name: str, *, base_url: str, model_id: str, api_key: str = "EMPTY", provider: str = DEFAULT_PROVIDER,
           **config: Any) -> MutantModel:
    """The mutant `name` around the reference provider `provider` (or the one of the wire so named)."""
    if name not in MUTATIONS:
        raise ValueError(f"no mutant named {name!r}; known: {', '.join(MUTATIONS)}")
    inner = provider_for(provider).factory(base_url=base_url, model_id=model_id, api_key=api_key, **config)
    return MutantModel(inner, MUTATIONS[name])


def _factory(attribute: str) -> Callable[..., MutantModel]:
    entry, name = parse_attribute(attribute)
    return suite_factory(entry, MUTATIONS[name])


def __getattr__(name: str) -> Any:
    """One suite factory per mutant and provider: `conformance.mutants:NAME` or `conformance.mutants:PROVIDER.NAME`."""
    try:
        return _factory(name)
    except KeyError:
        pass  # not a mutant spelling: a runner name, or nothing
    if name in _RUNNER_NAMES:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RUNNER_NAMES = ("CONTROL", "REFERENCE", "CheckOutcome", "MutationRunError", "caught_by", "differences", "family_files",
                 "main", "run_suite", "run_wire", "run_wires")

__all__ = ["EventFilter", "MUTATIONS", "MutantModel", "Mutation", "StreamCall", "mutant", *_RUNNER_NAMES]
