"""Known defects of several providers side by side, from their baselines: the certification summary.

    python -m conformance.report.defects conformance/baselines/upstream-*.json > reports/upstream/DEFECTS.md

One row per distinct reason, with the providers that have it and how many checks show it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conformance.baseline import load_baseline


def render_defects(paths: list[Path]) -> str:
    providers: list[str] = []
    by_reason: dict[str, dict[str, list[str]]] = {}
    for path in paths:
        baseline = load_baseline(path)
        name = baseline.provider or path.stem
        providers.append(name)
        for check, reason in baseline.expected_failures.items():
            by_reason.setdefault(reason, {}).setdefault(name, []).append(check)
    lines = [
        "# Defects found in the upstream providers",
        "",
        "Each row is one known failure, recorded as a strict expected failure in the provider's baseline "
        "(`conformance/baselines/`): the gate flips when upstream fixes it. Cells count the checks that show it.",
        "",
        "| defect | " + " | ".join(f"`{p}`" for p in providers) + " |",
        "|---|" + "---|" * len(providers),
    ]
    ordered = sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0]))
    for reason, seen in ordered:
        cells = [str(len(seen[p])) if p in seen else "" for p in providers]
        lines.append(f"| {reason.replace('|', '/')} | " + " | ".join(cells) + " |")
    totals = [str(sum(len(v.get(p, [])) for v in by_reason.values())) for p in providers]
    lines.append("| **checks failing in total** | " + " | ".join(totals) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m conformance.report.defects BASELINE.json...", file=sys.stderr)
        return 2
    sys.stdout.write(render_defects([Path(a) for a in argv]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
