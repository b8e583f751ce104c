"""The matrix as one self-contained HTML page: inline CSS and JS, no network, opens from a file.

Filters (providers, check family, only rows that did not pass) live in the page's URL fragment, so a
filtered view can be linked: `matrix.html#provider=neuron+%28openai-chat%2C+replay%29&family=errors&failing=1`.
"""

from __future__ import annotations

import json
from html import escape
from string import Template

from conformance.report.results import ERROR, FAILED, NOT_APPLICABLE, PASSED, SKIPPED, XFAILED, XPASSED, Matrix
from conformance.report.results import family_rank
from conformance.severity import SHOULD

CELL_SYMBOL = {
    PASSED: "✓", FAILED: "✗", ERROR: "E", SKIPPED: "–", NOT_APPLICABLE: "n/a", XFAILED: "known", XPASSED: "fixed?",
}

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance matrix</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.1em; margin-top: 1.6em; }
#filters { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; padding: .6em .8em;
  background: #f4f4f6; border-radius: 6px; margin: .8em 0; }
#filters fieldset { border: 0; margin: 0; padding: 0; }
#filters legend { font-weight: 600; padding: 0; }
#filters label { display: block; white-space: nowrap; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d6d6db; padding: .25em .55em; text-align: left; vertical-align: top; }
thead th { background: #eceef2; position: sticky; top: 0; }
td.cell { text-align: center; font-weight: 600; min-width: 4em; }
.passed { background: #e3f5e6; color: #1b6b2c; }
.failed, .error { background: #fde2e1; color: #a11a15; }
.skipped, .not-applicable { background: #f1f1f1; color: #666; }
.failed.should { background: #fdf0e1; color: #8a4b08; }
td.severity { color: #555; }
.xfailed { background: #fff4d6; color: #7a5a00; }
.xpassed { background: #e1ecff; color: #1742a0; }
td.family { color: #555; }
code { font-size: .95em; }
.title { color: #444; }
#shown-count { color: #555; margin: .3em 0; }
.legend span { display: inline-block; padding: 0 .4em; margin-right: .4em; border-radius: 3px; }
[hidden] { display: none !important; }
</style>
</head>
<body>
<h1>Conformance matrix</h1>
<p class="legend">
<span class="passed">✓ passed</span><span class="failed">✗ failed</span><span class="error">E error</span>
<span class="skipped">– skipped</span><span class="not-applicable">n/a: the provider does not declare what it judges</span>
<span class="xfailed">known: in the baseline</span>
<span class="xpassed">fixed?: in the baseline but passed, remove it</span>
<span class="failed should">✗ on a should row: fails the gate only with --conformance-strict</span>
</p>
<form id="filters" onsubmit="return false">
<fieldset id="provider-filter"><legend>Providers</legend>
$provider_boxes
</fieldset>
<fieldset><legend>Check family</legend>
<select id="family-filter"><option value="">all families</option>
$family_options
</select>
</fieldset>
<fieldset><legend>Rows</legend>
<label><input type="checkbox" id="failing-filter"> only checks that did not pass</label>
</fieldset>
</form>
<p id="shown-count"></p>
<table id="matrix">
<thead><tr><th>family</th><th>check</th><th>severity</th>$column_heads</tr></thead>
<tbody>
$body_rows
</tbody>
<tfoot><tr><th colspan="3">totals</th>$column_totals</tr></tfoot>
</table>
<h2>Not passed, and why</h2>
<table id="reasons">
<thead><tr><th>provider</th><th>family</th><th>check</th><th>severity</th><th>outcome</th><th>reason</th><th>cassette</th></tr></thead>
<tbody>
$reason_rows
</tbody>
</table>
$runs_section
<script>
"use strict";
const columns = $columns_json;
const providerBoxes = Array.from(document.querySelectorAll("#provider-filter input"));
const familySelect = document.getElementById("family-filter");
const failingBox = document.getElementById("failing-filter");

function shownColumns() {
  return new Set(providerBoxes.filter(b => b.checked).map(b => b.value));
}

function applyFilter() {
  const shown = shownColumns();
  const family = familySelect.value;
  const onlyFailing = failingBox.checked;
  document.querySelectorAll("#matrix [data-col]").forEach(cell => {
    cell.hidden = !shown.has(cell.dataset.col);
  });
  const rows = Array.from(document.querySelectorAll("#matrix tbody tr"));
  let visible = 0;
  rows.forEach(row => {
    let show = family === "" || row.dataset.family === family;
    if (show && onlyFailing) {
      show = Array.from(row.querySelectorAll("td[data-col]")).some(
        cell => shown.has(cell.dataset.col) && cell.dataset.outcome !== "passed" && cell.dataset.outcome !== "");
    }
    row.hidden = !show;
    if (show) visible += 1;
  });
  document.querySelectorAll("#reasons tbody tr").forEach(row => {
    row.hidden = !(shown.has(row.dataset.col) && (family === "" || row.dataset.family === family));
  });
  document.getElementById("shown-count").textContent =
    visible + " of " + rows.length + " checks shown, " + shown.size + " of " + columns.length + " providers";
  const state = new URLSearchParams();
  if (shown.size !== columns.length) {
    providerBoxes.filter(b => b.checked).forEach(b => state.append("provider", b.dataset.label));
  }
  if (family) state.set("family", family);
  if (onlyFailing) state.set("failing", "1");
  const hash = state.toString();
  history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
}

function restoreFilter() {
  const state = new URLSearchParams(location.hash.slice(1));
  if (state.has("provider")) {
    const wanted = new Set(state.getAll("provider"));
    providerBoxes.forEach(b => { b.checked = wanted.has(b.dataset.label); });
  }
  if (state.has("family")) familySelect.value = state.get("family");
  failingBox.checked = state.get("failing") === "1";
}

providerBoxes.forEach(b => b.addEventListener("change", applyFilter));
familySelect.addEventListener("change", applyFilter);
failingBox.addEventListener("change", applyFilter);
restoreFilter();
applyFilter();
</script>
</body>
</html>
"""
)


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _cell_class(outcome: str, severity: str) -> str:
    if outcome == NOT_APPLICABLE:
        return "not-applicable"
    return f"{outcome} should" if outcome == FAILED and severity == SHOULD else outcome


def render_html(matrix: Matrix) -> str:
    column_ids = {column: str(i) for i, column in enumerate(matrix.columns)}
    provider_boxes = "\n".join(
        f'<label><input type="checkbox" value="{_attr(column_ids[c])}" data-label="{_attr(c)}" checked> '
        f"{escape(c)}</label>"
        for c in matrix.columns
    )
    families = sorted({row.family for row in matrix.rows}, key=lambda f: (family_rank(f), f))
    family_options = "\n".join(f'<option value="{_attr(f)}">{escape(f)}</option>' for f in families)
    column_heads = "".join(f'<th data-col="{column_ids[c]}">{escape(c)}</th>' for c in matrix.columns)

    body_rows = []
    for row in matrix.rows:
        family, check = row.family, row.check
        cells = []
        for column in matrix.columns:
            result = matrix.cells.get((check, column))
            col = column_ids[column]
            if result is None:
                cells.append(f'<td class="cell" data-col="{col}" data-outcome="" title="not run">·</td>')
                continue
            tip = result.outcome + (f": {result.reason}" if result.reason else "")
            cells.append(
                f'<td class="cell {_attr(_cell_class(result.outcome, row.severity))}" data-col="{col}" '
                f'data-outcome="{_attr(result.outcome)}" '
                f'title="{_attr(tip)}">{CELL_SYMBOL.get(result.outcome, escape(result.outcome))}</td>'
            )
        body_rows.append(
            f'<tr data-family="{_attr(family)}" data-check="{_attr(check)}"><td class="family">{escape(family)}</td>'
            f'<td title="{_attr(row.title)}"><code>{escape(check)}</code></td>'
            f'<td class="severity">{escape(row.severity)}</td>{"".join(cells)}</tr>'
        )

    column_totals = []
    for column in matrix.columns:
        counts = matrix.counts(column)
        text = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        column_totals.append(f'<td data-col="{column_ids[column]}">{escape(text)}</td>')

    reason_rows = [
        f'<tr data-col="{column_ids[r.column]}" data-family="{_attr(r.family)}">'
        f"<td>{escape(r.column)}</td><td>{escape(r.family)}</td><td><code>{escape(r.check)}</code></td>"
        f"<td>{escape(r.severity)}</td>"
        f'<td class="cell {_attr(_cell_class(r.outcome, r.severity))}">{escape(r.outcome)}</td><td>{escape(r.reason)}</td>'
        f"<td>{escape(r.cassette or '')}</td></tr>"
        for r in matrix.not_passed()
    ]
    run_items = [f"<li>{escape(run.column)}: {escape(run.generated_at)}</li>" for run in matrix.runs]
    runs_section = f"<h2>Runs</h2>\n<ul>\n{chr(10).join(run_items)}\n</ul>" if run_items else ""

    return _PAGE.substitute(
        provider_boxes=provider_boxes,
        family_options=family_options,
        column_heads=column_heads,
        body_rows="\n".join(body_rows),
        column_totals="".join(column_totals),
        reason_rows="\n".join(reason_rows),
        runs_section=runs_section,
        # "</" cannot close the script element once escaped.
        columns_json=json.dumps(matrix.columns).replace("</", "<\\/"),
    )
