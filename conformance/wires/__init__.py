"""The wire families, one module each, and the registry built from their declarations.

The checks never name a wire. A wire module declares `WIRE` (a `WireFamily`: cassette folder, API
prefix, reference decoder of response bodies, request reader, stop-reason table, finish words, error
cases, the cases it cannot express), `EXTRA_CASES` (cases only it has, asked like the plain text or
tool case) and `PROVIDERS` (its reference providers, with their parameter mappings). This registry
reads the modules named in `WIRE_MODULES`, in that order, and builds the wire table, the case list
(`conformance.cases.CASES`), the reference providers and the default matrix from them; nothing
registers itself by mutating another module. Adding a wire is one module here plus its name in
`WIRE_MODULES`, its provider in `providers/`, its cassettes in `recordings/<wire>/`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TypeVar

from conformance.cases import CORE_CASES, Case
from conformance.wires._reference import ProviderEntry
from conformance.wires._types import (
    ERROR_KINDS, RECORDINGS_DIR, ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError,
    WireExpectation, WireFamily,
)

__all__ = [
    "ALL_CASES",
    "DEFAULT_MATRIX",
    "ERROR_KINDS",
    "OPENAI_CHAT",
    "RECORDINGS_DIR",
    "REFERENCE_PROVIDERS",
    "WIRE_MODULES",
    "ExpectedToolCall",
    "ProviderEntry",
    "RequestMeaning",
    "SentToolCall",
    "SentToolResult",
    "WireDecodeError",
    "WireExpectation",
    "WireFamily",
    "get_wire",
    "known_wires",
    "register_wire",
]

T = TypeVar("T")

# The wire modules, in the order of the default matrix; adding a wire adds its module's name here.
WIRE_MODULES = (
    "openai_chat",
    "anthropic",
    "bedrock_converse",
    "ollama",
    "mistral",
    "writer",
    "llama_api",
    "litellm",
    "gemini",
    "sagemaker",
    "openai_responses",
    "sglang_generate",
)


def _load(names: tuple[str, ...]) -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def _unique(kind: str, pairs: list[tuple[str, T]]) -> dict[str, T]:
    table: dict[str, T] = {}
    for name, value in pairs:
        if name in table:
            raise ValueError(f"{kind} {name!r} is declared twice by the wire modules")
        table[name] = value
    return table


def _cases(modules: list[ModuleType]) -> dict[str, Case]:
    extra = [(case.name, case) for module in modules for case in module.EXTRA_CASES]
    return _unique("case", [*CORE_CASES.items(), *extra])


def _check_tables(wires: dict[str, WireFamily], cases: dict[str, Case]) -> None:
    """Every case a wire's tables name exists, so a typo fails at import instead of as a missing row."""
    for wire in wires.values():
        limited = {case for limits in wire.live_limits.values() for case in limits}
        unknown = sorted((set(wire.stop_reasons) | set(wire.errors) | set(wire.unsupported) | limited) - set(cases))
        if unknown:
            raise ValueError(f"wire {wire.name} names cases no module declares: {', '.join(unknown)}")


_MODULES = _load(WIRE_MODULES)
_WIRES: dict[str, WireFamily] = _unique("wire", [(module.WIRE.name, module.WIRE) for module in _MODULES])
ALL_CASES: dict[str, Case] = _cases(_MODULES)
_check_tables(_WIRES, ALL_CASES)
REFERENCE_PROVIDERS: dict[str, ProviderEntry] = _unique(
    "reference provider", [(entry.name, entry) for module in _MODULES for entry in module.PROVIDERS])
for _entry in REFERENCE_PROVIDERS.values():
    if _entry.wire not in _WIRES:
        raise ValueError(f"reference provider {_entry.name} speaks wire {_entry.wire!r}, which no module declares")
# The wire of a third-party factory when --conformance-wire names none.
OPENAI_CHAT: WireFamily = _WIRES["openai-chat"]
# Every reference provider, each on its own wire (`pytest conformance` with no --conformance-provider).
DEFAULT_MATRIX: tuple[str, ...] = tuple(name for name, entry in REFERENCE_PROVIDERS.items() if entry.in_default_matrix)


def register_wire(wire: WireFamily, *, replace: bool = False) -> WireFamily:
    """Add a wire defined outside this package (a test's or a third party's), e.g. from a conftest."""
    if wire.name in _WIRES and not replace:
        raise ValueError(f"wire family {wire.name!r} is already registered (pass replace=True to redefine it)")
    _WIRES[wire.name] = wire
    return wire


def known_wires() -> list[str]:
    return sorted(_WIRES)


def get_wire(name: str) -> WireFamily:
    try:
        return _WIRES[name]
    except KeyError:
        raise KeyError(f"unknown wire family {name!r}; known: {', '.join(known_wires())}") from None
