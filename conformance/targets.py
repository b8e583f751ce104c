"""Which provider the suite certifies: a reference name, or any `package.module:factory`.

The reference providers are declared by the wire modules (`conformance.wires`), each with the wire it
speaks and how the cases' request parameters become its configuration; a third-party factory gets
them as `params={...}` and replays openai-chat unless `--conformance-wire` says otherwise.
"""

from __future__ import annotations

import importlib

from conformance.wires import DEFAULT_MATRIX, REFERENCE_PROVIDERS
from conformance.wires._reference import TRANSPORTS, ProviderEntry, TimeoutOptions

__all__ = [
    "DEFAULT_MATRIX",
    "ProviderEntry",
    "ProviderSelectionError",
    "REFERENCE_PROVIDERS",
    "TimeoutOptions",
    "resolve_provider",
]


class ProviderSelectionError(ValueError):
    """`--conformance-provider` names nothing usable; the message lists the choices or the import failure."""


def resolve_provider(spec: str) -> ProviderEntry:
    """A reference name, or `package.module:factory` imported now so a typo fails before any test."""
    if ":" not in spec:
        if spec in REFERENCE_PROVIDERS:
            return REFERENCE_PROVIDERS[spec]
        raise ProviderSelectionError(
            f"--conformance-provider {spec!r} is not a reference provider; known: {', '.join(REFERENCE_PROVIDERS)}; "
            "or pass a factory as package.module:function"
        )
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ProviderSelectionError(f"--conformance-provider {spec!r}: expected package.module:factory with both parts")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of third-party code is the user's to see
        raise ProviderSelectionError(
            f"--conformance-provider {spec!r}: importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    factory = getattr(module, attribute, None)
    if factory is None:
        public = sorted(name for name in vars(module) if not name.startswith("_"))[:20]
        raise ProviderSelectionError(
            f"--conformance-provider {spec!r}: module {module_name!r} has no attribute {attribute!r} (it has: {', '.join(public)})"
        )
    if not callable(factory):
        raise ProviderSelectionError(f"--conformance-provider {spec!r}: {attribute!r} is a {type(factory).__name__}, not callable")
    # A factory may declare that its client is not httpx (`factory.conformance_transport = "sockets"`).
    transport = getattr(factory, "conformance_transport", "httpx")
    if transport not in TRANSPORTS:
        raise ProviderSelectionError(
            f"--conformance-provider {spec!r}: conformance_transport is {transport!r}; use one of {', '.join(TRANSPORTS)}"
        )
    # A factory may declare how the suite sets its timeouts (`factory.conformance_timeouts`).
    timeouts = getattr(factory, "conformance_timeouts", None)
    if timeouts is not None and not isinstance(timeouts, TimeoutOptions):
        raise ProviderSelectionError(
            f"--provider {spec!r}: conformance_timeouts is a {type(timeouts).__name__}; declare "
            "conformance.targets.TimeoutOptions(names=..., config=lambda seconds: {...factory keyword arguments})"
        )
    return ProviderEntry(spec, factory, ("vllm", "llamacpp"), transport=transport, timeouts=timeouts)
