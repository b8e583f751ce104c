"""Command line: `python -m loadtests.compare RUN_A RUN_B [--fail-on METRIC[:THRESHOLD%]] [--html PATH]`.

Exit 0: no gated metric regressed beyond its threshold and beyond noise; 1: one did; 2: a run could
not be read or an option is wrong (the message says which and the fix).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loadtests.compare.render import console_table, html_page, method_note
from loadtests.compare.runs import UnreadableRun, load_run
from loadtests.compare.stats import (DEFAULT_THRESHOLD_PCT, DEFAULT_THRESHOLD_POINTS, NOISE_FLOOR_PCT, RESAMPLES, Gate,
                                     compare, gate_failures, parse_gate)


def _gate(text: str) -> Gate:
    try:
        return parse_gate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of percent, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more percent, got {text!r}")
    return value


def _resamples(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 100:
        raise argparse.ArgumentTypeError(f"at least 100 resamples make a 95% interval, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", metavar="RUN_A", help="the baseline: a load run's report folder or its records.jsonl")
    parser.add_argument("run_b", metavar="RUN_B", help="the candidate, compared against RUN_A")
    parser.add_argument("--fail-on", action="append", type=_gate, default=None, metavar="METRIC[:THRESHOLD%]",
                        help=f"exit 1 when METRIC (e.g. itl_p99, or ttft for its p50, p90 and p99) got worse beyond noise "
                             f"and by more than THRESHOLD (default {DEFAULT_THRESHOLD_PCT:g}%% of A; error and "
                             f"nonconformance rates: {DEFAULT_THRESHOLD_POINTS:g} percentage point); repeatable; "
                             "default: every metric at its default threshold")
    parser.add_argument("--html", type=Path, default=None,
                        help="where to write the HTML page (default: compare.html in RUN_B's folder)")
    parser.add_argument("--resamples", type=_resamples, default=RESAMPLES, help=f"bootstrap resamples (default {RESAMPLES})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0), so a rerun prints the same")
    parser.add_argument("--noise-floor", type=_non_negative, default=NOISE_FLOOR_PCT, metavar="PERCENT",
                        help=f"a change smaller than this is within noise however narrow its interval (default "
                             f"{NOISE_FLOOR_PCT:g}%%: run-to-run drift of one server)")
    args = parser.parse_args(argv)
    try:
        a, b = load_run(args.run_a), load_run(args.run_b)
    except UnreadableRun as exc:
        print(f"cannot compare: {exc}", file=sys.stderr)
        return 2
    diffs = compare(a, b, resamples=args.resamples, seed=args.seed, noise_floor_pct=args.noise_floor)
    gates = args.fail_on or [Gate(name, None) for name in {d.metric.name for d in diffs}]
    failures = gate_failures(diffs, gates)
    note = method_note(args.resamples, args.seed, args.noise_floor)
    if a.api != b.api:  # a fair question (is one endpoint slower?), but never one to answer unawares
        note += f"\nA spoke --api {a.api}, B --api {b.api}: every difference includes the change of API"
    print(console_table(a, b, diffs, note))
    html = args.html or (b.path if b.path.is_dir() else b.path.parent) / "compare.html"
    try:
        html.write_text(html_page(a, b, diffs, failures, note), encoding="utf-8")
    except OSError as exc:
        print(f"cannot write the HTML page {html}: {exc}", file=sys.stderr)
        return 2
    print(f"page: {html}")
    if failures:
        print("REGRESSED: " + "; ".join(failures))
        return 1
    print("no gated metric regressed beyond its threshold and noise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
