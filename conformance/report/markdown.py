"""The matrix as Markdown: readable in a terminal, a pull request or a README."""

from __future__ import annotations

from conformance.report.results import ERROR, FAILED, NOT_APPLICABLE, PASSED, SKIPPED, XFAILED, XPASSED, Matrix
from conformance.severity import SHOULD

CELL_TEXT = {
    PASSED: "pass",
    FAILED: "**FAIL**",
    ERROR: "**ERROR**",
    SKIPPED: "skip",
    NOT_APPLICABLE: "n/a",
    XFAILED: "known",
    XPASSED: "**fixed?**",
}

LEGEND = (
    "pass: the check passed. **FAIL**: the provider broke the check. **ERROR**: the check could not run. "
    "skip: not run in this mode (the reason is listed). n/a: the provider does not declare what the check "
    "judges (e.g. token ids). known: a failure recorded in the baseline (an expected failure). **fixed?**: in "
    "the baseline but passed: remove it from the baseline. Severity: a `must` check failing fails the gate; "
    "a `should` check failing (fail, not bold) fails it only with --conformance-strict."
)


def cell_text(outcome: str, severity: str) -> str:
    if outcome == FAILED and severity == SHOULD:
        return "fail"
    return CELL_TEXT.get(outcome, outcome)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(matrix: Matrix) -> str:
    lines = ["# Conformance matrix", ""]
    if not matrix.columns:
        return "\n".join(lines + ["No conformance check ran.", ""])
    lines.append(LEGEND)
    lines.append("")
    lines.append("| family | check | severity | " + " | ".join(_escape(c) for c in matrix.columns) + " |")
    lines.append("|---|---|---|" + "---|" * len(matrix.columns))
    for row in matrix.rows:
        label = f"`{row.check}`"  # the title (long, in the HTML page's tooltip) would drown the table
        cells = []
        for column in matrix.columns:
            result = matrix.cells.get((row.check, column))
            cells.append(cell_text(result.outcome, row.severity) if result else "")
        lines.append(f"| {row.family} | {label} | {row.severity} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("## Totals")
    lines.append("")
    for column in matrix.columns:
        counts = matrix.counts(column)
        shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        lines.append(f"- {_escape(column)}: {shown}")
    attention = matrix.not_passed()
    if attention:
        lines.append("")
        lines.append("## Not passed, and why")
        lines.append("")
        lines.append("| provider | check | severity | outcome | reason |")
        lines.append("|---|---|---|---|---|")
        for result in attention:
            reason = result.reason + (f" (cassette `{result.cassette}`)" if result.cassette else "")
            lines.append(
                f"| {_escape(result.column)} | `{result.check}` | {result.severity} | {result.outcome} | {_escape(reason)} |"
            )
    if matrix.runs:
        lines.append("")
        lines.append("## Runs")
        lines.append("")
        for run in matrix.runs:
            lines.append(f"- {_escape(run.column)}: {run.generated_at}")
    lines.append("")
    return "\n".join(lines)
