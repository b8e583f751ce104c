"""The comparison as a console table and as a self-contained HTML page (inline SVG, no script, no network).

The page's charts are drawn by the run report's helper (`loadtests.report.plots`), so both pages
give every chart a title, units and a text alternative, and draw distributions the same way.
"""

from __future__ import annotations

import math

import jinja2

from loadtests.compare.runs import Run
from loadtests.compare.stats import BETTER, CONFIDENCE, MIN_BEYOND_PERCENTILE, WORSE, Difference
from loadtests.report.plots import distribution, figure, no_data, percentile_of, step_125

# Request field: how the page names it
DISTRIBUTIONS = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL per token", "e2e": "E2E latency"}


def _value(v: float | None, points: bool) -> str:
    if v is None:
        return "-"
    return f"{v * 100:.2f}%" if points else f"{v:.4g}"


def _change(d: Difference) -> str:
    if d.change is None:
        return "-"
    unit = " pt" if d.metric.points else "%"
    return f"{d.change:+.1f}{unit}"


def _interval(d: Difference) -> str:
    if d.low is None or d.high is None:
        return "-"
    unit = " pt" if d.metric.points else "%"
    return f"[{d.low:+.1f}, {d.high:+.1f}]{unit}"


def _rows(diffs: list[Difference]) -> list[list[str]]:
    return [[d.metric.name, d.metric.unit if not d.metric.points else "", _value(d.a, d.metric.points),
             _value(d.b, d.metric.points), _change(d), _interval(d), d.verdict] for d in diffs]


HEADER = ["metric", "unit", "A", "B", "B vs A", f"{CONFIDENCE:.0%} interval", "verdict"]


def method_note(resamples: int, seed: int, noise_floor_pct: float) -> str:
    """How the intervals and verdicts were made, printed under the table and on the page."""
    return (f"intervals: bootstrap over requests in one-second blocks, {resamples} resamples, "
            f"seed {seed}; within noise: the interval holds no change, or the change is under {noise_floor_pct:g}% "
            "(error and nonconformance rates: no floor); too few requests: a percentile with fewer than "
            f"{MIN_BEYOND_PERCENTILE} requests beyond it in a run is shown, not judged")


def console_table(a: Run, b: Run, diffs: list[Difference], note: str) -> str:
    rows = [HEADER, *_rows(diffs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [f"A = {a.name} ({len(a.requests)} requests, {a.duration_s:.1f} s)",
             f"B = {b.name} ({len(b.requests)} requests, {b.duration_s:.1f} s)"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if 1 < k < 6 else cell.ljust(w) for k, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(note)
    return "\n".join(lines)


def _forest(diffs: list[Difference]) -> str:
    """Each relative change with its interval on one axis (rates in points are left to the table)."""
    title = f"B against A (% of A, {CONFIDENCE:.0%} interval)"
    shown = [d for d in diffs if not d.metric.points and d.change is not None and d.low is not None
             and math.isfinite(d.change) and d.high is not None]
    if not shown:
        return no_data("changes", title, "no relative change to compare")
    row_h, ml, mr, width = 18, 90, 20, 640
    height = 52 + row_h * len(shown)
    span = step_125(max(10.0, *(max(abs(d.low), abs(d.high), abs(d.change)) for d in shown)))  # type: ignore[arg-type]
    sx = lambda v: ml + (v + span) / (2 * span) * (width - ml - mr)  # noqa: E731
    colors = {WORSE: "#b00", BETTER: "#070"}
    parts = [f'<line x1="{sx(0):.1f}" y1="22" x2="{sx(0):.1f}" y2="{height - 26}" stroke="#333"/>',
             f'<text x="{sx(0):.1f}" y="{height - 2}" text-anchor="middle">change of B against A, % of A</text>']
    for tick in (-span, -span / 2, span / 2, span):
        parts.append(f'<text x="{sx(tick):.1f}" y="{height - 14}" text-anchor="middle">{tick:+g}%</text>')
    for i, d in enumerate(shown):
        y = 30 + i * row_h
        color = colors.get(d.verdict, "#555")
        parts.append(f'<text x="{ml - 6}" y="{y + 4}" text-anchor="end">{d.metric.name}</text>')
        parts.append(f'<line class="mark" x1="{sx(d.low):.1f}" y1="{y}" x2="{sx(d.high):.1f}" y2="{y}" stroke="{color}" stroke-width="2">'  # type: ignore[arg-type]
                     f"<title>{d.metric.name}: {_change(d)} {_interval(d)}, {d.verdict}</title></line>")
        parts.append(f'<circle cx="{sx(d.change):.1f}" cy="{y}" r="3" fill="{color}"/>')
    description = "; ".join(f"{d.metric.name} {_change(d)} {_interval(d)} {d.verdict}" for d in shown)
    return figure("changes", title, "".join(parts), description, width, height)


def _distributions(a: Run, b: Run) -> list[str]:
    """Each latency's distribution in A and in B, on one log axis per metric."""
    charts = []
    for field, label in DISTRIBUTIONS.items():
        curves = []
        for run, side in ((a, "A"), (b, "B")):
            values = [v for r in run.requests if (v := getattr(r, field)) is not None]
            if values:
                curves.append((f"{side}: {run.name}"[:24], percentile_of(values)))
        charts.append(distribution(f"latency-{field}", f"{label} distribution, A and B", curves, f"{label}, ms"))
    return charts


_PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>Load runs compared: {{ a.name }} / {{ b.name }}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure.empty{padding:8px;border:1px dashed #ccc}
.worse{color:#b00;font-weight:bold}.better{color:#070;font-weight:bold}.fail{color:#b00}.pass{color:#070}</style></head><body>
<h1>Load runs compared</h1>
<p>A = <b>{{ a.name }}</b> ({{ a.requests|length }} requests, {{ '%.1f'|format(a.duration_s) }} s, {{ a.path }})<br>
B = <b>{{ b.name }}</b> ({{ b.requests|length }} requests, {{ '%.1f'|format(b.duration_s) }} s, {{ b.path }})</p>
<p class="{{ 'fail' if failures else 'pass' }}"><b>{{ 'REGRESSED' if failures else 'NO REGRESSION BEYOND THE GATES' }}</b>
{% for f in failures %}<br>{{ f }}{% endfor %}</p>
<table><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row, label in rows %}<tr><th class="l" title="{{ label }}">{{ row[0] }}</th>{% for cell in row[1:6] %}<td>{{ cell }}</td>{% endfor %}
<td class="l {{ row[6]|replace(' ', '-') }}">{{ row[6] }}</td></tr>{% endfor %}</table>
<p>{{ note }}</p>
<div class="charts">{% for c in charts %}{{ c|safe }}{% endfor %}</div>
</body></html>""")


def html_page(a: Run, b: Run, diffs: list[Difference], failures: list[str], note: str) -> str:
    rows = list(zip(_rows(diffs), (d.metric.label for d in diffs)))
    return _PAGE.render(a=a, b=b, header=HEADER, rows=rows, failures=failures, note=note,
                        charts=[_forest(diffs), *_distributions(a, b)])
