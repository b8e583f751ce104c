"""The suite's only pytest entry point: small, because pytest imports it in every run of every environment
where the package is installed.

Importing the suite itself (strands, the SDKs, the wires) takes seconds, so this module imports nothing of
it. It declares the options (all `--conformance-...`, which no other plugin owns) and the markers, and
loads the suite's plugins only when the run is the suite's: its directory or package is among the paths
collected, or a `--conformance-...` option is given. In such a run the short spellings (`--provider`,
`--wire`, `--baseline`, ...) are accepted too, each one only if no other plugin or initial conftest has
taken it (pytest-base-url owns `--base-url`): a short name can never stop pytest from starting.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SUITE_DIR = Path(__file__).resolve().parent
# Loaded in this order; the gate wraps the reports the suite's plugin has filled.
SUITE_PLUGINS = ("conformance.plugin", "conformance.servers.fixtures", "conformance.gate")
PREFIX = "--conformance-"
DEFAULT_MATRIX_DIR = "reports/conformance"

MARKERS = (
    "live: starts a real llama.cpp or vLLM server (conformance.servers); deselect with -m 'not live'",
    "cases(*names): the conformance cases a check runs ('stop_reasons': the wire's stop-reason table; "
    "'errors:<kind>': the wire's own error cases of that kind)",
    "family(name): the check family of a conformance check (conformance.evidence.CHECK_FAMILIES)",
)


@dataclass(frozen=True)
class Option:
    """One option: `--conformance-<name>`, also `--<name>` in the suite's own runs when that is free."""

    name: str
    attrs: dict[str, Any]

    @property
    def long(self) -> str:
        return PREFIX + self.name

    @property
    def short(self) -> str:
        return "--" + self.name

    @property
    def dest(self) -> str:
        return "conformance_" + self.name.replace("-", "_")


SUITE_OPTIONS = (
    Option("provider", dict(
        action="append", default=None, metavar="NAME|package.module:factory",
        help="provider to certify (repeatable): a reference name (neuron, vllm, llamacpp, openai, ...) or a "
        "factory; default: every reference provider of the default matrix, each on its own wire")),
    Option("wire", dict(
        default=None, metavar="FAMILY",
        help="wire family whose cassettes replay, for every selected provider (default: each reference "
        "provider's own wire, openai-chat for a factory; an unknown name lists the known ones)")),
    Option("live", dict(action="store_true", help="run against a real server instead of cassettes")),
    Option("base-url", dict(
        default=None, metavar="URL",
        help="with --conformance-live: the server root (e.g. http://127.0.0.1:8080); without it the local "
        "llama.cpp/vLLM servers are started")),
    Option("model-id", dict(default=None, help="with --conformance-live --conformance-base-url: the served model id")),
    Option("api-key", dict(
        default=None, metavar="KEY",
        help="with --conformance-live: API key sent to the server (default $CONFORMANCE_API_KEY or EMPTY); "
        "never recorded")),
    Option("record", dict(action="store_true", help="with --conformance-live: rewrite the cassettes of passing live runs")),
    # The chunk-boundary family's budget: a few Hypothesis examples per cell in CI, more on request.
    Option("examples", dict(
        type=int, default=2, metavar="N",
        help="chunk-boundary check: Hypothesis examples per matrix cell, besides every-byte and one-chunk cuts "
        "(default 2: the whole body in one chunk, then one draw of cuts; derandomized, so a run is reproducible)")),
)

GATE_OPTIONS = (
    Option("baseline", dict(
        metavar="FILE",
        help="JSON file of known failures (check id -> one-line reason): they become strict expected "
        "failures, so only regressions fail the run")),
    Option("baseline-report-only", dict(
        action="store_true", help="a baseline check that passes is reported but does not fail the run")),
    Option("write-baseline", dict(
        metavar="FILE",
        help="write the checks that fail in this run to FILE as a baseline (reasons of entries already in "
        "--conformance-baseline are kept)")),
    Option("matrix-dir", dict(
        metavar="DIR", default=DEFAULT_MATRIX_DIR,
        help="where the conformance matrix (matrix.md, matrix.html) and per-provider results go, relative "
        f"to the current directory (default: {DEFAULT_MATRIX_DIR})")),
    Option("no-matrix", dict(action="store_true", help="do not write the conformance matrix")),
    Option("strict", dict(
        action="store_true",
        help="fail the run on `should` checks too (observability, configuration hygiene); by default only "
        "`must` checks fail it and `should` failures are reported")),
    Option("long-failures", dict(
        action="store_true",
        help="show pytest's full traceback for a failing check instead of its one-paragraph summary "
        "(--tb=long does the same)")),
)

_GROUPS = (
    ("conformance", "Strands provider conformance suite", SUITE_OPTIONS),
    ("conformance-gate", "conformance release gate", GATE_OPTIONS),
)
ACTIVE_KEY = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    for group_name, description, options in _GROUPS:
        group = parser.getgroup(group_name, description)
        for option in options:
            group.addoption(option.long, dest=option.dest, **option.attrs)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]):
    # After the initial conftests: every plugin and conftest that could own a short name has declared it.
    result = yield
    active = is_suite_run(early_config, args)
    early_config.stash[ACTIVE_KEY] = active
    if active:
        _add_short_names(parser)
    return result


def is_suite_run(config: pytest.Config, args: list[str]) -> bool:
    """The run collects the suite (its folder, an ancestor of it, or its package) or names its options."""
    if any(arg.startswith(PREFIX) for arg in args):
        return True
    namespace = config.known_args_namespace
    named = [str(target) for target in namespace.file_or_dir]
    if namespace.pyargs and any(target == "conformance" or target.startswith("conformance.") for target in named):
        return True
    invocation_dir = config.invocation_params.dir
    # The short names are not declared yet, so `--provider neuron` leaves "neuron" among the paths: only
    # paths that exist count, and none means pytest's own default (testpaths, else the current folder).
    paths = [path for target in named if (path := invocation_dir / target.split("::")[0]).exists()]
    if not paths and invocation_dir == config.rootpath:
        paths = [invocation_dir / target for target in config.getini("testpaths")]
    for path in paths or [invocation_dir]:
        path = path.resolve()
        if path == SUITE_DIR or path in SUITE_DIR.parents or SUITE_DIR in path.parents:
            return True
    return False


def _add_short_names(parser: pytest.Parser) -> None:
    # pytest has no public question "is this option name declared?": its groups are read directly.
    taken = {name for group in [*parser._groups, parser._anonymous] for option in group.options
             for name in option.names()}
    for group_name, description, options in _GROUPS:
        group = parser.getgroup(group_name, description)
        for option in options:
            if option.short not in taken:
                group.addoption(option.short, dest=option.dest, **{**option.attrs, "help": argparse.SUPPRESS})


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.stash.get(ACTIVE_KEY, False):
        for name in SUITE_PLUGINS:
            module = importlib.import_module(name)
            if not config.pluginmanager.is_registered(module):
                config.pluginmanager.register(module, name)

