"""Running the mutation check: the suite against the bare reference provider, the control and each mutant."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import MUTATIONS

SUITE_DIR = Path(__file__).resolve().parent.parent
CONTROL = "faithful"
# The reference provider the mutants wrap, run bare: the control must score exactly as it does.
REFERENCE = "openai"


class MutationRunError(Exception):
    """The suite could not run against a mutant (not: the mutant was caught)."""


@dataclass(frozen=True)
class CheckOutcome:
    family: str
    outcome: str
    reason: str


def run_suite(spec: str, workdir: Path, wire: str = "openai-chat", timeout: float = 600) -> dict[str, CheckOutcome]:
    """Run the whole suite in a subprocess against `--conformance-provider spec`; check id -> outcome, from the gate's results."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", str(SUITE_DIR), "--conformance-provider", spec, "--conformance-wire", wire,
        # Replayed cassettes only: tests marked live start real servers, which no mutant needs.
        "-m", "not live", "-q", "-p", "no:cacheprovider", "--conformance-matrix-dir", str(workdir), "--junitxml", str(workdir / "junit.xml"),
    ]
    done = subprocess.run(command, cwd=SUITE_DIR.parent, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1):
        raise MutationRunError(
            f"`{' '.join(command)}` exited {done.returncode} (not a pass or a test failure):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    files = sorted((workdir / "results").glob("*.json"))
    if not files:
        raise MutationRunError(f"the suite ran against {spec} but wrote no results under {workdir}:\n{done.stdout[-3000:]}")
    outcomes: dict[str, CheckOutcome] = {}
    for path in files:
        for row in json.loads(path.read_text(encoding="utf-8"))["results"]:
            outcomes[row["check"]] = CheckOutcome(row["family"], row["outcome"], row.get("reason", ""))
    return outcomes


def caught_by(control: dict[str, CheckOutcome], mutant_run: dict[str, CheckOutcome]) -> dict[str, CheckOutcome]:
    """Checks that pass for the control and fail for the mutant: the ones that caught it."""
    return {
        check: outcome
        for check, outcome in sorted(mutant_run.items())
        if outcome.outcome in ("failed", "error") and control.get(check, CheckOutcome("", "", "")).outcome == "passed"
    }


def run_all(workdir: Path, names: list[str] | None = None, workers: int = 2) -> dict[str, dict[str, CheckOutcome]]:
    """The bare reference provider (key REFERENCE), the control and every mutant (or `names`)."""
    specs = {REFERENCE: REFERENCE, CONTROL: f"conformance.mutants:{CONTROL}"}
    specs |= {n: f"conformance.mutants:{n}" for n in (names or MUTATIONS) if n != CONTROL}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_suite, spec, workdir / name) for name, spec in specs.items()}
        return {name: future.result() for name, future in futures.items()}


def differences(expected: dict[str, CheckOutcome], seen: dict[str, CheckOutcome]) -> list[str]:
    """Checks whose outcome differs between two runs, as readable lines."""
    lines = []
    for check in sorted(set(expected) | set(seen)):
        want, got = expected.get(check), seen.get(check)
        if (want and want.outcome) != (got and got.outcome):
            lines.append(f"{check}: {want.outcome if want else 'not run'} -> {got.outcome if got else 'not run'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m conformance.mutants [--workdir DIR] [NAME...]`: run mutants, print which checks caught each."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m conformance.mutants", description=main.__doc__)
    parser.add_argument("names", nargs="*", help=f"mutants to run (default: all): {', '.join(MUTATIONS)}")
    parser.add_argument("--workdir", type=Path, help="keep each run's results and JUnit XML here")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MUTATIONS]
    if unknown:
        parser.error(f"unknown mutants {unknown}; known: {', '.join(MUTATIONS)}")
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        runs = run_all(args.workdir or Path(tmp), args.names or None)
    reference, control = runs.pop(REFERENCE), runs.pop(CONTROL)
    passed = sum(1 for o in control.values() if o.outcome == "passed")
    print(f"control (faithful): {passed} of {len(control)} checks pass")
    for line in differences(reference, control):
        print(f"control differs from the bare {REFERENCE} provider: {line}")
    print("| mutant | defect | caught by |")
    print("|---|---|---|")
    missed = 0
    for name, run in runs.items():
        catchers = caught_by(control, run)
        missed += not catchers
        shown = ", ".join(f"`{c}`" for c in list(catchers)[:3]) + (f" (+{len(catchers) - 3} more)" if len(catchers) > 3 else "")
        print(f"| {name} | {MUTATIONS[name].defect} | {shown or '**NOT CAUGHT**'} |")
    print(f"{len(runs) - missed} of {len(runs)} mutants caught")
    return 1 if missed else 0
