"""How much a failing check matters to a release: `must` or `should`.

- `must`: with this defect the Strands agent loop misbehaves (a tool never runs, a retry never
  happens, a stream ends as if complete), or data is lost or wrong (text, tool arguments, usage,
  token ids). The gate fails on it.
- `should`: observability and configuration hygiene (latency metrics, warnings instead of errors).
  Reported in the matrix and the terminal; it fails the gate only with `--conformance-strict`.

Each check says which, with the reason, on a line of its docstring of this fixed form:

    Severity: must -- the loop retries only ModelThrottledException.

A check is a test carrying the `family` marker; one without a severity line stops the run at
collection with a message saying what to add (there is no default: every check is classified).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

MUST = "must"
SHOULD = "should"
SEVERITIES = (MUST, SHOULD)
SEVERITY_LINE = re.compile(r"^\s*Severity:\s*(\w+)", re.MULTILINE)
FIX = (
    'add a line "Severity: must -- <why>" (the agent loop misbehaves, or data is lost or wrong) or '
    '"Severity: should -- <why>" (observability, configuration hygiene) to its docstring; '
    "conformance/README.md, section Severity, says which checks are which"
)


def declared_severity(function: Any) -> str | None:
    """The severity a check's docstring states, None when it states none; an unknown word is an error."""
    match = SEVERITY_LINE.search(inspect.getdoc(function) or "")
    if match is None:
        return None
    if match[1] not in SEVERITIES:
        raise ValueError(f"severity {match[1]!r} is not one of {', '.join(SEVERITIES)}")
    return match[1]


def is_check(item: pytest.Item) -> bool:
    return item.get_closest_marker("family") is not None


def item_severity(item: pytest.Item) -> str:
    """A check's declared severity; items that are not checks (the gate's own tests) count as `must`."""
    function = getattr(item, "function", None)
    severity = declared_severity(function) if function is not None else None
    return severity or MUST


def unclassified_checks(items: list[pytest.Item]) -> list[str]:
    """One line per check function that states no valid severity (parametrized checks listed once)."""
    problems: dict[str, str] = {}
    for item in items:
        function = getattr(item, "function", None)
        if function is None or not is_check(item):
            continue
        name = f"{item.path.name}::{function.__name__}"
        try:
            if declared_severity(function) is None:
                problems[name] = f"{name} states no severity"
        except ValueError as exc:
            problems[name] = f"{name}: {exc}"
    return list(problems.values())
