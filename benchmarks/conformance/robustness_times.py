"""How long each provider takes to end each robustness fault: the table behind the robustness checks.

    python benchmarks/conformance/robustness_times.py                  # every reference provider
    python benchmarks/conformance/robustness_times.py openai mypkg.models:factory

Runs the same probe as the checks (`conformance.faults.probe`), against the same fault server, and
prints one Markdown row per provider: the seconds from the request to the provider's end for each
fault, and how it ended (`!` after the time: the check would fail; `n/a`: the wire cannot carry the
fault). The timed faults run with the short timeouts the provider declares; see the footer.
"""

from __future__ import annotations

import argparse

from conformance.faults.probe import FAULTS, MARGIN_S, OUTER_BOUND_S, SHORT_TIMEOUT_S, Probe, fault_script, probe
from conformance.faults.server import FaultServer
from conformance.targets import DEFAULT_MATRIX, resolve_provider


def cell(result: Probe) -> str:
    raised = result.ended and result.error is not None
    late = result.options is not None and result.fault in FAULTS[:4] and result.elapsed > result.seconds + MARGIN_S
    how = type(result.error).__name__ if raised else "hung" if not result.ended else "no error"
    return f"{result.elapsed:.2f}{'!' if late or not raised else ''} {how}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("providers", nargs="*", help="reference names or package.module:factory (default: all)")
    args = parser.parse_args(argv)
    print("| provider | " + " | ".join(FAULTS) + " |")
    print("|---" * (len(FAULTS) + 1) + "|")
    with FaultServer() as server:
        for spec in args.providers or DEFAULT_MATRIX:
            entry = resolve_provider(spec)
            cells = ["n/a" if isinstance(fault_script(entry.wire, fault), str)
                     else cell(probe(entry, entry.wire, fault, server)) for fault in FAULTS]
            print(f"| {entry.name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nSeconds to the end of the stream. Timed faults (the first four): declared timeouts set to "
          f"{SHORT_TIMEOUT_S:g} s, the check allows {MARGIN_S:g} s more; a provider that declares none is waited "
          f"{OUTER_BOUND_S:g} s. `!`: the check fails (late, hung, or no error).")


if __name__ == "__main__":
    main()
