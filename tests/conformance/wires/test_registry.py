"""The wire registry: built from the wire modules' declarations, the same whatever is imported first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import wires
from conformance.cases import CASES, CORE_CASES
from conformance.targets import DEFAULT_MATRIX, REFERENCE_PROVIDERS, resolve_provider

ROOT = Path(__file__).resolve().parents[3]
# Factories outside the registry that map case parameters with a reference provider's mapping.
UPSTREAM_FACTORIES = ("conformance.upstream:anthropic", "conformance.upstream:ollama", "conformance.upstream:writer",
                      "conformance.upstream:llamaapi", "conformance.upstream_bedrock:bedrock")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("spec", [*REFERENCE_PROVIDERS, *UPSTREAM_FACTORIES])
def test_provider_resolves_and_builds_in_a_fresh_interpreter(spec: str) -> None:
    result = _python(
        "from conformance.targets import resolve_provider\n"
        f"entry = resolve_provider({spec!r})\n"
        "model = entry.build(base_url='http://127.0.0.1:9/v1', model_id='m', api_key='k',\n"
        "                    params={'max_tokens': 8, 'temperature': 0.0})\n"
        "print(type(model).__name__)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip(), "no model was built"


IMPORT_ORDERS = [
    ("conformance.cases", "conformance.wires", "conformance.targets", "conformance.plugin"),
    ("conformance.targets", "conformance.cases", "conformance.wires"),
    ("conformance.wires.anthropic", "conformance.cases", "conformance.targets"),
    ("conformance.upstream", "conformance.wires", "conformance.cases"),
    ("conformance.upstream_bedrock", "conformance.targets"),
    ("conformance.harness", "conformance.wires.ollama"),
    ("conformance.replay", "conformance.cases", "conformance.wires.litellm"),
]


@pytest.mark.parametrize("order", IMPORT_ORDERS, ids=[" then ".join(order) for order in IMPORT_ORDERS])
def test_public_modules_import_in_any_order(order: tuple[str, ...]) -> None:
    imports = "".join(f"import {name}\n" for name in order)
    result = _python(
        f"{imports}"
        "from conformance.cases import CASES, get_case\n"
        "from conformance.targets import DEFAULT_MATRIX, REFERENCE_PROVIDERS\n"
        "from conformance.wires import get_wire, known_wires\n"
        "print(len(CASES), len(REFERENCE_PROVIDERS), len(DEFAULT_MATRIX), len(known_wires()))\n"
        "get_case('finish_pause_turn'); get_wire('bedrock-converse')\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # A fresh interpreter knows only the wire modules' wires (a test here may register one more in-process).
    expected = f"{len(CASES)} {len(REFERENCE_PROVIDERS)} {len(DEFAULT_MATRIX)} {len(wires.WIRE_MODULES)}"
    assert result.stdout.strip() == expected


def _modules():
    return [getattr(wires, name) for name in wires.WIRE_MODULES]


def test_every_wire_module_is_registered_with_its_declarations() -> None:
    for module in _modules():
        assert wires.get_wire(module.WIRE.name) is module.WIRE
        for entry in module.PROVIDERS:
            assert REFERENCE_PROVIDERS[entry.name] is entry
            assert entry.wire == module.WIRE.name, f"{entry.name} is declared by {module.__name__} but speaks {entry.wire}"
        for case in module.EXTRA_CASES:
            assert CASES[case.name] is case


def test_case_list_is_the_core_cases_plus_each_wire_s_own() -> None:
    extra = [case.name for module in _modules() for case in module.EXTRA_CASES]
    assert list(CASES) == [*CORE_CASES, *extra]


def test_default_matrix_is_every_reference_provider_meant_for_it() -> None:
    assert DEFAULT_MATRIX == tuple(name for name, entry in REFERENCE_PROVIDERS.items() if entry.in_default_matrix)
    assert {"upstream-openai", "upstream-llamacpp"} <= set(REFERENCE_PROVIDERS) - set(DEFAULT_MATRIX)
    assert {REFERENCE_PROVIDERS[name].wire for name in DEFAULT_MATRIX} == {module.WIRE.name for module in _modules()}


def test_every_table_row_names_a_case_with_a_cassette() -> None:
    for module in _modules():
        wire = module.WIRE
        for case_name in [*wire.stop_reasons, *wire.errors]:
            if wire.cannot_express(case_name, CASES[case_name].cassette_case) is None:
                assert wire.variants(CASES[case_name].cassette_case), f"{wire.name}: no cassette for {case_name}"


def test_unknown_provider_lists_the_registry_s_names() -> None:
    with pytest.raises(ValueError, match="known: neuron, vllm, llamacpp, openai, upstream-openai"):
        resolve_provider("nope")
