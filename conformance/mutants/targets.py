"""Which reference provider a wire's mutants wrap, and the suite factories that build them.

A mutant is certified like any third-party provider (`--conformance-provider conformance.mutants:SPEC`),
so its factory must look to the suite exactly as the reference provider it wraps: the same transport,
the same timeout options, the cases' request parameters mapped the same way. Anything else would make
the control (the mutant that corrupts nothing) score differently from the bare provider, and a mutant
"caught" by that difference would prove nothing.

Spelling: `conformance.mutants:NAME` wraps the reference OpenAI-chat provider (`openai`), as it always
has; `conformance.mutants:PROVIDER.NAME` wraps the reference provider PROVIDER (`anthropic.lost_usage`,
`bedrock.faithful`), replayed on that provider's wire (`--conformance-wire`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.wires import REFERENCE_PROVIDERS, known_wires
from conformance.wires._reference import ProviderEntry

from .model import MutantModel, Mutation

# The provider wrapped when a spec names no provider: the plain OpenAI SDK one (the other openai-chat
# providers add a server's quirks on top of it).
DEFAULT_PROVIDER = "openai"
# A wire with several reference providers in the default matrix names the one its mutants wrap here.
_WIRE_PROVIDER = {"openai-chat": DEFAULT_PROVIDER}


def provider_for(name: str) -> ProviderEntry:
    """The reference provider named `name`, or the one the mutants of the wire named `name` wrap."""
    if name in REFERENCE_PROVIDERS:
        return REFERENCE_PROVIDERS[name]
    if name not in known_wires():
        raise ValueError(
            f"{name!r} is neither a wire nor a reference provider; wires: {', '.join(known_wires())}; "
            f"providers: {', '.join(REFERENCE_PROVIDERS)}"
        )
    if name in _WIRE_PROVIDER:
        return REFERENCE_PROVIDERS[_WIRE_PROVIDER[name]]
    on_wire = [entry for entry in REFERENCE_PROVIDERS.values() if entry.wire == name and entry.in_default_matrix]
    if len(on_wire) != 1:
        raise ValueError(f"wire {name!r} has reference providers {[entry.name for entry in on_wire]}: "
                         "name the one its mutants wrap in conformance.mutants.targets._WIRE_PROVIDER")
    return on_wire[0]


def wrapped_providers() -> list[ProviderEntry]:
    """One reference provider per wire: the providers the mutants run on by default."""
    return [provider_for(wire) for wire in dict.fromkeys(entry.wire for entry in REFERENCE_PROVIDERS.values())]


def spec(provider: str, mutant: str) -> str:
    """The `--conformance-provider` value of `mutant` wrapping the reference provider `provider`."""
    return f"conformance.mutants:{mutant}" if provider == DEFAULT_PROVIDER else f"conformance.mutants:{provider}.{mutant}"


def parse_attribute(attribute: str) -> tuple[ProviderEntry, str]:
    """`NAME` or `PROVIDER.NAME` (the part of a spec after the colon): the provider wrapped and the mutant."""
    provider, _, mutant = attribute.rpartition(".")
    return REFERENCE_PROVIDERS[provider or DEFAULT_PROVIDER], mutant


def suite_factory(entry: ProviderEntry, mutation: Mutation) -> Callable[..., MutantModel]:
    """A third-party factory (cases' parameters as `params={...}`) building `mutation` around `entry`'s provider."""

    def factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", params: Any = None, **config: Any) -> MutantModel:
        # The suite hands a third-party factory its parameters as `params`; the reference provider wants
        # them mapped as its own entry maps them.
        inner = entry.factory(base_url=base_url, model_id=model_id, api_key=api_key,
                              **entry.params_to_config(params or {}), **config)
        return MutantModel(inner, mutation)

    factory.__name__ = factory.__qualname__ = mutation.name
    factory.__doc__ = f"Suite factory of the mutant {mutation.name!r} around {entry.name}: {mutation.defect}."
    factory.conformance_timeouts = entry.timeouts  # type: ignore[attr-defined]
    factory.conformance_transport = entry.transport  # type: ignore[attr-defined]
    return factory

