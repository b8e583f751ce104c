"""Every cassette in recordings/ is run by at least one check of the default matrix.

A cassette no check runs is a quirk the suite claims to cover and does not; and a wire's "cannot express"
reason that points at another case ("covered by error_529_overloaded") must point at one that runs. The
suite's own collection (`pytest conformance --co`, as a user runs it) says which cells exist; a check's
id is `check[provider-case-variant]`, or `check[case]` / `check[provider-case]` for a check that reads its
case's cassettes itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from conformance.cases import get_case
from conformance.wires import RECORDINGS_DIR, REFERENCE_PROVIDERS, get_wire, known_wires

REPOSITORY = Path(__file__).resolve().parents[2]
# Cassettes that are inputs of something other than a check, with what reads them.
NOT_CHECK_INPUTS = {
    "openai-chat/tokens_drift.vllm.json": "the token-drift benchmark's recording (benchmarks/drift/drift_report.py)",
}
CELL_STATES = ("unsupported", "missing", "offline")


@cache
def collected_ids() -> tuple[str, ...]:
    done = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--co", "-q", "-p", "no:cacheprovider"],
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"collecting the suite failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return tuple(line.strip() for line in done.stdout.splitlines() if "::" in line)


def cassettes_of(param: str) -> set[str]:
    """The cassettes (relative to recordings/) a collected cell replays."""
    provider = next((name for name in sorted(REFERENCE_PROVIDERS, key=len, reverse=True)
                     if param.startswith(name + "-")), None)
    if provider is None:  # `check[case]`: a check reading its own case's cassettes
        return {str(path.relative_to(RECORDINGS_DIR)) for path in RECORDINGS_DIR.glob(f"*/{param}.*.json")}
    case, _, variant = param[len(provider) + 1:].partition("-")
    if not variant and case not in CELL_STATES:  # `check[provider-case]`: the check reads its case's cassettes
        return {str(path.relative_to(RECORDINGS_DIR)) for path in RECORDINGS_DIR.glob(f"*/{case}.*.json")}
    # A case-less check (`provider-offline`, `provider-offline-fault`), or a cell with no cassette.
    if not variant or variant in CELL_STATES or case in CELL_STATES:
        return set()
    wire = get_wire(REFERENCE_PROVIDERS[provider].wire)
    return {str(wire.cassette_path(get_case(case).cassette_case, variant).relative_to(RECORDINGS_DIR))}


@cache
def used_cassettes() -> frozenset[str]:
    used: set[str] = set()
    for test_id in collected_ids():
        match = re.search(r"\[(.+)\]$", test_id)
        if match:
            used |= cassettes_of(match.group(1))
    return frozenset(used)


def test_every_cassette_is_run_by_a_check() -> None:
    every = {str(path.relative_to(RECORDINGS_DIR)) for path in RECORDINGS_DIR.glob("*/*.json")}
    unrun = sorted(every - used_cassettes() - set(NOT_CHECK_INPUTS))
    assert not unrun, "cassettes no check runs (give each a case and a check, or delete it):\n  " + "\n  ".join(unrun)


def test_exempt_cassettes_exist() -> None:
    missing = [name for name in NOT_CHECK_INPUTS if not (RECORDINGS_DIR / name).is_file()]
    assert not missing, f"exempted cassettes that are gone (drop them from NOT_CHECK_INPUTS): {missing}"


def test_cannot_express_reasons_point_at_run_cassettes() -> None:
    """A reason naming another case of its wire ("covered by error_529_overloaded") names one a check runs."""
    used = used_cassettes()
    wrong = []
    for name in known_wires():
        wire = get_wire(name)
        for case, reason in wire.unsupported.items():
            for word in re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", reason):
                files = {f"{wire.name}/{path.name}" for path in wire.cassette_dir.glob(f"{word}.*.json")}
                if files and not files & used:
                    wrong.append(f"{wire.name}: {case} says {reason!r}, but no check runs {sorted(files)}")
    assert not wrong, "\n".join(wrong)
