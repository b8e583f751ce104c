"""The outcome of every check in a run, saved as JSON so the matrix can span several runs.

One run of the suite tests one provider; certifying several providers is several runs. Each run saves
its results in `<matrix dir>/results/<provider>--<wire>--<mode>.json`, replacing that provider's
previous results, and the matrix is rebuilt from every results file in the directory.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from conformance.evidence import CHECK_FAMILIES
from conformance.json_files import write_json_atomically

RESULTS_FORMAT = 1

# Outcomes a matrix cell can show, from the gate's point of view.
PASSED = "passed"
FAILED = "failed"  # the check failed (an assertion or the provider raised)
ERROR = "error"  # the check could not run (setup or teardown broke)
SKIPPED = "skipped"
NOT_APPLICABLE = "n/a"  # the provider does not declare the capability the check judges
XFAILED = "xfailed"  # failed as the baseline (or the suite) expects
XPASSED = "xpassed"  # expected to fail, passed: remove it from the baseline
OUTCOMES = (PASSED, FAILED, ERROR, SKIPPED, NOT_APPLICABLE, XFAILED, XPASSED)
# Outcomes that make the gate fail when they are what the run ends with (for a `should` check only
# with --conformance-strict).
BLOCKING = frozenset({FAILED, ERROR})
# A check skips with a reason starting so when the provider lacks what it judges: shown as n/a, not as
# skipped for the mode, and never as passed.
NOT_APPLICABLE_PREFIX = "not applicable: "


def is_not_applicable(skip_reason: str) -> bool:
    return skip_reason.startswith(NOT_APPLICABLE_PREFIX)


class ResultsError(Exception):
    """A results file that cannot be read back: the message names the file and the fix."""


@dataclass
class CheckResult:
    """One cell of the matrix: one check against one provider, with the reason when not passed."""

    provider: str
    wire: str
    mode: str
    family: str
    check: str
    title: str
    outcome: str
    reason: str = ""
    nodeid: str = ""
    cassette: str | None = None
    severity: str = "must"  # `must` or `should` (conformance.severity); results written before it: must

    @property
    def column(self) -> str:
        """The matrix column: a provider in one wire family and mode."""
        return column_label(self.provider, self.wire, self.mode)


def column_label(provider: str, wire: str, mode: str) -> str:
    return f"{provider} ({wire}, {mode})"


def family_rank(family: str) -> int:
    """Families in the order of `CHECK_FAMILIES`; unknown ones after, so none is lost."""
    return CHECK_FAMILIES.index(family) if family in CHECK_FAMILIES else len(CHECK_FAMILIES)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "unnamed"


def results_path(directory: Path, provider: str, wire: str, mode: str) -> Path:
    return directory / "results" / f"{_slug(provider)}--{_slug(wire)}--{_slug(mode)}.json"


def save_results(directory: Path, results: list[CheckResult], generated_at: str) -> list[Path]:
    """Write one file per (provider, wire, mode) present in `results`; returns the paths written."""
    groups: dict[tuple[str, str, str], list[CheckResult]] = {}
    for result in results:
        groups.setdefault((result.provider, result.wire, result.mode), []).append(result)
    written = []
    for (provider, wire, mode), group in groups.items():
        path = results_path(directory, provider, wire, mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": RESULTS_FORMAT,
            "provider": provider,
            "wire": wire,
            "mode": mode,
            "generated_at": generated_at,
            "results": [asdict(r) for r in group],
        }
        write_json_atomically(path, payload, indent=1)
        written.append(path)
    return written


@dataclass
class RunSummary:
    """When one provider's results were produced, for the matrix header."""

    column: str
    generated_at: str
    path: Path


def load_all_results(directory: Path) -> tuple[list[CheckResult], list[RunSummary]]:
    """Every results file under `directory/results`, sorted by file name."""
    results: list[CheckResult] = []
    runs: list[RunSummary] = []
    known = {f.name for f in fields(CheckResult)}
    for path in sorted((directory / "results").glob("*.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultsError(f"results file {path} cannot be read ({exc}); delete it and rerun the suite") from exc
        if not isinstance(payload, dict) or payload.get("format") != RESULTS_FORMAT:
            raise ResultsError(
                f"results file {path} is not a format-{RESULTS_FORMAT} results file; delete it and rerun the suite"
            )
        for row in payload.get("results", []):
            if not isinstance(row, dict) or not {"provider", "wire", "mode", "family", "check", "outcome"} <= set(row):
                raise ResultsError(f"results file {path} has a malformed row {row!r}; delete it and rerun the suite")
            results.append(CheckResult(**{k: v for k, v in row.items() if k in known}))
        runs.append(
            RunSummary(
                column=column_label(payload["provider"], payload["wire"], payload["mode"]),
                generated_at=str(payload.get("generated_at", "")),
                path=path,
            )
        )
    return results, runs


@dataclass(frozen=True)
class Row:
    """One check of the matrix: its family, id, title and severity."""

    family: str
    check: str
    title: str
    severity: str


@dataclass
class Matrix:
    """Checks (rows, grouped by family) by provider columns, ready for a renderer."""

    columns: list[str]
    rows: list[Row]
    cells: dict[tuple[str, str], CheckResult]  # (check id, column) -> result
    runs: list[RunSummary]

    def counts(self, column: str) -> dict[str, int]:
        tally = dict.fromkeys(OUTCOMES, 0)
        for (_, col), result in self.cells.items():
            if col == column:
                tally[result.outcome] = tally.get(result.outcome, 0) + 1
        return tally

    def not_passed(self) -> list[CheckResult]:
        """Every cell whose outcome needs a reader's attention, in matrix order."""
        order = {row.check: i for i, row in enumerate(self.rows)}
        cells = [r for r in self.cells.values() if r.outcome != PASSED]
        return sorted(cells, key=lambda r: (self.columns.index(r.column), order[r.check]))


def build_matrix(results: list[CheckResult], runs: list[RunSummary] | None = None) -> Matrix:
    columns = sorted({r.column for r in results})
    rows_by_check: dict[str, Row] = {}
    for result in results:
        known = rows_by_check.get(result.check)
        title = (known.title if known else "") or result.title
        rows_by_check[result.check] = Row(known.family if known else result.family, result.check, title, result.severity)
    rows = sorted(rows_by_check.values(), key=lambda row: (family_rank(row.family), row.family, row.check))
    cells = {(r.check, r.column): r for r in results}
    return Matrix(columns=columns, rows=rows, cells=cells, runs=list(runs or []))
