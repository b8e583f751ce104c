"""The matrix as Markdown: readable in a terminal, a pull request or a README."""

from __future__ import annotations

from conformance.report.results import ERROR, FAILED, PASSED, SKIPPED, XFAILED, XPASSED, Matrix

CELL_TEXT = {
    PASSED: "pass",
    FAILED: "**FAIL**",
    ERROR: "**ERROR**",
    SKIPPED: "skip",
    XFAILED: "known",
    XPASSED: "**fixed?**",
}

LEGEND = (
    "pass: the check passed. **FAIL**: the provider broke the check. **ERROR**: the check could not run. "
    "skip: not applicable in this mode (the reason is listed). known: a failure recorded in the baseline "
    "(an expected failure). **fixed?**: in the baseline but passed: remove it from the baseline."
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(matrix: Matrix) -> str:
    lines = ["# Conformance matrix", ""]
    if not matrix.columns:
        return "\n".join(lines + ["No conformance check ran.", ""])
    lines.append(LEGEND)
    lines.append("")
    lines.append("| family | check | " + " | ".join(_escape(c) for c in matrix.columns) + " |")
    lines.append("|---|---|" + "---|" * len(matrix.columns))
    for family, check, _title in matrix.rows:
        label = f"`{check}`"  # the title (long, in the HTML page's tooltip) would drown the table
        cells = []
        for column in matrix.columns:
            result = matrix.cells.get((check, column))
            cells.append(CELL_TEXT.get(result.outcome, result.outcome) if result else "")
        lines.append(f"| {family} | {label} | " + " | ".join(cells) + " |")
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
        lines.append("| provider | check | outcome | reason |")
        lines.append("|---|---|---|---|")
        for result in attention:
            reason = result.reason + (f" (cassette `{result.cassette}`)" if result.cassette else "")
            lines.append(
                f"| {_escape(result.column)} | `{result.check}` | {result.outcome} | {_escape(reason)} |"
            )
    if matrix.runs:
        lines.append("")
        lines.append("## Runs")
        lines.append("")
        for run in matrix.runs:
            lines.append(f"- {_escape(run.column)}: {run.generated_at}")
    lines.append("")
    return "\n".join(lines)
