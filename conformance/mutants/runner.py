"""Running the mutation check, one wire at a time: the suite against the bare reference provider of the
wire, the control (the wrapper that corrupts nothing) and each mutant around that provider.

One suite process per wire runs them all, each under its own `--conformance-provider`, so a wire costs
one interpreter start. A full run plays every check against every mutant; a targeted run (`families`)
plays each mutant only on the check families named for it, and the bare provider and the control on
every family any mutant is played on, so the two can still be compared check by check.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import MUTATIONS
from .targets import provider_for, spec

SUITE_DIR = Path(__file__).resolve().parent.parent
CHECKS_DIR = SUITE_DIR / "checks"
CONTROL = "faithful"
# The key of the bare reference provider's run among a wire's runs: the control must score exactly as it does.
REFERENCE = "reference"


class MutationRunError(Exception):
    """The suite could not run against a mutant (not: the mutant was caught)."""


@dataclass(frozen=True)
class CheckOutcome:
    family: str
    outcome: str
    reason: str


def family_files() -> dict[str, list[Path]]:
    """Check family -> the check modules declaring it (`pytestmark = pytest.mark.family(...)`)."""
    files: dict[str, list[Path]] = {}
    for path in sorted(CHECKS_DIR.glob("test_*.py")):
        found = re.search(r"""pytest\.mark\.family\(["'](\w+)["']\)""", path.read_text(encoding="utf-8"))
        if found:
            files.setdefault(found.group(1), []).append(path)
    return files


def _selection(specs: Mapping[str, Sequence[str]], files: dict[str, list[Path]]) -> str:
    """A `-k` expression running each provider spec on its families' modules only.

    Test ids open with the provider (`test_x[PROVIDER-case-variant]`), so `[PROVIDER-` names one
    provider's checks and never another whose name merely contains it (`anthropic` in
    `conformance.mutants:anthropic.lost_usage`).
    """
    terms = []
    for provider, families in specs.items():
        modules = " or ".join(path.name for family in families for path in files[family])
        terms.append(f"([{provider}- and ({modules}))")
    return " or ".join(terms)


def run_suite(specs: Sequence[str] | Mapping[str, Sequence[str]], wire: str, workdir: Path,
              timeout: float = 1200) -> dict[str, dict[str, CheckOutcome]]:
    """The suite in a subprocess against each provider spec, replaying `wire`: spec -> check id -> outcome.

    `specs` as a mapping plays each spec only on the check families it names; as a list, on all of them.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    paths: list[str] = [str(SUITE_DIR)]
    selection: list[str] = []
    if isinstance(specs, Mapping):
        files = family_files()
        unknown = sorted({family for families in specs.values() for family in families} - set(files))
        if unknown:
            raise MutationRunError(f"no check module declares the families {unknown}; known: {', '.join(files)}")
        paths = sorted({str(path) for families in specs.values() for family in families for path in files[family]})
        selection = ["-k", _selection(specs, files)]
    command = [sys.executable, "-m", "pytest", *paths, "--conformance-wire", wire]
    for provider in specs:
        command += ["--conformance-provider", provider]
    # Replayed cassettes only: tests marked live start real servers, which no mutant needs.
    command += ["-m", "not live", *selection, "-q", "-p", "no:cacheprovider",
                "--conformance-matrix-dir", str(workdir), "--junitxml", str(workdir / "junit.xml")]
    done = subprocess.run(command, cwd=SUITE_DIR.parent, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1):
        raise MutationRunError(
            f"`{' '.join(command)}` exited {done.returncode} (not a pass or a test failure):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    outcomes: dict[str, dict[str, CheckOutcome]] = {provider: {} for provider in specs}
    for path in sorted((workdir / "results").glob("*.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["results"]:
            outcomes.setdefault(row["provider"], {})[row["check"]] = CheckOutcome(
                row["family"], row["outcome"], row.get("reason", ""))
    # One provider without results (no check of its families applies) is the caller's to judge; none at all
    # means the suite itself did not run.
    if not any(outcomes.values()):
        raise MutationRunError(f"the suite ran against {list(specs)} but wrote no results under {workdir}:\n{done.stdout[-3000:]}")
    return outcomes


def run_wire(provider: str, workdir: Path, mutants: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
             ) -> dict[str, dict[str, CheckOutcome]]:
    """The bare reference provider `provider` (or the one the wire so named wraps), the control and the
    mutants around it: run key (REFERENCE, CONTROL or a mutant's name) -> check id -> outcome.

    `mutants` as a mapping gives the check families to play each mutant on (a targeted run); as a list
    or None (every mutant), each plays the whole suite.
    """
    entry = provider_for(provider)
    names = [name for name in (mutants if mutants is not None else MUTATIONS) if name != CONTROL]
    unknown = [name for name in names if name not in MUTATIONS]
    if unknown:
        raise ValueError(f"unknown mutants {unknown}; known: {', '.join(MUTATIONS)}")
    keys = {entry.name: REFERENCE, spec(entry.name, CONTROL): CONTROL} | {spec(entry.name, name): name for name in names}
    specs: Sequence[str] | Mapping[str, Sequence[str]] = list(keys)
    if isinstance(mutants, Mapping):
        every = sorted({family for name in names for family in mutants[name]})
        specs = {entry.name: every, spec(entry.name, CONTROL): every} | {spec(entry.name, n): mutants[n] for n in names}
    runs = run_suite(specs, entry.wire, workdir / entry.name)
    return {keys[provider]: checks for provider, checks in runs.items()}


def run_wires(plans: Mapping[str, Sequence[str] | Mapping[str, Sequence[str]] | None], workdir: Path,
              workers: int = 2) -> dict[str, dict[str, dict[str, CheckOutcome]]]:
    """`run_wire` for each provider (or wire) of `plans`, `workers` suite processes at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_wire, name, workdir, mutants) for name, mutants in plans.items()}
        return {name: future.result() for name, future in futures.items()}


def caught_by(control: dict[str, CheckOutcome], mutant_run: dict[str, CheckOutcome]) -> dict[str, CheckOutcome]:
    """Checks that pass for the control and fail for the mutant: the ones that caught it."""
    return {
        check: outcome
        for check, outcome in sorted(mutant_run.items())
        if outcome.outcome in ("failed", "error") and control.get(check, CheckOutcome("", "", "")).outcome == "passed"
    }


def differences(expected: dict[str, CheckOutcome], seen: dict[str, CheckOutcome]) -> list[str]:
    """Checks whose outcome differs between two runs, as readable lines."""
    lines = []
    for check in sorted(set(expected) | set(seen)):
        want, got = expected.get(check), seen.get(check)
        if (want and want.outcome) != (got and got.outcome):
            lines.append(f"{check}: {want.outcome if want else 'not run'} -> {got.outcome if got else 'not run'}")
    return lines


def _report(wire: str, runs: dict[str, dict[str, CheckOutcome]]) -> int:
    """Print one wire's table; the number of mutants no check caught."""
    reference, control = runs.pop(REFERENCE), runs.pop(CONTROL)
    passed = sum(1 for o in control.values() if o.outcome == "passed")
    print(f"\n## {wire}\n\ncontrol ({CONTROL}): {passed} of {len(control)} checks pass")
    for line in differences(reference, control):
        print(f"control differs from the bare provider: {line}")
    print("\n| mutant | defect | caught by |\n|---|---|---|")
    missed = 0
    for name, run in runs.items():
        catchers = caught_by(control, run)
        missed += not catchers
        shown = ", ".join(f"`{c}`" for c in list(catchers)[:3]) + (f" (+{len(catchers) - 3} more)" if len(catchers) > 3 else "")
        print(f"| {name} | {MUTATIONS[name].defect} | {shown or '**NOT CAUGHT**'} |")
    print(f"\n{len(runs) - missed} of {len(runs)} mutants caught on {wire}")
    return missed


def main(argv: list[str] | None = None) -> int:
    """`python -m conformance.mutants [--wire WIRE]... [NAME...]`: play the whole offline suite against each
    mutant around each wire's reference provider, and print per wire which checks caught each (minutes
    per wire: pick wires with --wire, mutants by name; the mutation test plays only the families meant)."""
    import argparse
    import tempfile

    from .targets import wrapped_providers

    parser = argparse.ArgumentParser(prog="python -m conformance.mutants", description=main.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"mutants to run (default: all): {', '.join(MUTATIONS)}")
    parser.add_argument(
        "--wire", action="append", dest="wires", metavar="WIRE",
        help="a wire family, or a reference provider, whose reference provider the mutants wrap; repeat for several "
             f"(default: every wire: {', '.join(f'{e.wire} ({e.name})' for e in wrapped_providers())})")
    parser.add_argument("--workdir", type=Path, help="keep each run's results and JUnit XML here")
    parser.add_argument("--workers", type=int, default=2, help="wires run at once, one suite process each (default: 2)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MUTATIONS]
    if unknown:
        parser.error(f"unknown mutants {unknown}; known: {', '.join(MUTATIONS)}")
    try:
        providers = [provider_for(name).name for name in args.wires or [e.name for e in wrapped_providers()]]
    except ValueError as exc:
        parser.error(f"--wire: {exc}")
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        runs = run_wires({provider: args.names or None for provider in providers}, args.workdir or Path(tmp), args.workers)
    missed = sum(_report(f"{provider_for(p).wire} ({p})", wire_runs) for p, wire_runs in runs.items())
    return 1 if missed else 0
