"""The run's verdict and its files: summary.json, summary.csv, records.jsonl (written live) and report.html.

Everything here is built from the run's histograms and `RunTotals` (counters and per-second
buckets), never from a list of every request, so a run of any length reports in the same memory.
The HTML is self-contained (inline SVG and CSS, drawn by `charts` through `plots`; no script, font
or anything fetched), so it opens offline and can be attached to a CI run as is.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from loadtests.client.failures import MAX_BACKOFF_S
from loadtests.report.metrics import HistogramSet
from loadtests.report.charts import run_charts
from loadtests.report.totals import RunTotals, percentile_or_none
from loadtests.runner.schedule import Stage


@dataclass
class RunData:
    scenario: str
    target: str
    mode: str
    api: str  # --api: which endpoint every request of the run spoke (chat, responses, messages)
    stages: list[Stage]
    slo: dict[str, float]  # metric -> ms (ttft, tpot, e2e)
    slo_percentile: float
    max_error_rate: float
    lag_budget_ms: float
    conformance_sample: float = 0.0  # --conformance-sample: the share of streams judged by the conformance rules
    hists: HistogramSet = field(default_factory=HistogramSet)
    totals: RunTotals = field(default_factory=RunTotals)  # measured requests (not warmup), folded as they arrive
    warmup: list[dict[str, Any]] = field(default_factory=list)  # a few requests per bucket, before the run
    abort_reason: str | None = None
    worker_count: int = 1
    epoch: float | None = None
    client_cpu_warning: bool = False  # Locust saw a load-generator process above 90% CPU
    capacity: dict[str, Any] | None = None  # --find-max-rate: the search's probes and its bracket


def _stage_rows(run: RunData) -> list[dict[str, Any]]:
    if len(run.stages) < 2:
        return []
    rows = []
    for i, stage in enumerate(run.stages):
        requests, failed = run.totals.stages.get(i, (0, 0))
        ok = requests - failed
        row: dict[str, Any] = {"stage": i, "offered_rate": stage.rate, "users": stage.users, "requests": requests,
                               "failed": failed, "achieved_rps": round(ok / stage.duration_s, 3)}
        hists = {m: h for (g, m), h in run.hists.hists.items() if g == f"stage:{i}"}
        for metric in ("ttft", "tpot", "e2e"):
            row[f"{metric}_p50_ms"] = percentile_or_none(hists.get(metric), 50)
            row[f"{metric}_p{run.slo_percentile:g}_ms"] = percentile_or_none(hists.get(metric), run.slo_percentile)
        row["send_lag_p99_ms"] = percentile_or_none(hists.get("send_lag"), 99)
        row |= run.totals.nonconformance.stage_figures(i)
        met = ok > 0 and failed <= run.max_error_rate * max(1, requests)
        for metric, limit in run.slo.items():
            value = row.get(f"{metric}_p{run.slo_percentile:g}_ms")
            met = met and value is not None and value <= limit
        if stage.rate:
            met = met and row["achieved_rps"] >= 0.9 * stage.rate  # the server kept up with the offered load
        row["slo_met"] = met if run.slo else None
        rows.append(row)
    return rows


def build_summary(run: RunData) -> dict[str, Any]:
    t = run.totals
    duration = t.duration_s
    summary: dict[str, Any] = {
        "scenario": run.scenario, "target": run.target, "api": run.api, "mode": run.mode, "workers": run.worker_count,
        "requests": t.requests, "ok": t.ok, "failed": t.failed,
        "error_rate": round(t.failed / t.requests, 4) if t.requests else None,
        "errors_by_kind": dict(t.errors), "error_samples": t.error_samples,
        # cut off at the end of the run: counted as failed, and shown apart since their cause is unknown
        "unfinished": t.errors.get("unfinished", 0),
        "backoff": {"times": t.backoff_times, "max_each_s": MAX_BACKOFF_S, "total_s": round(t.backoff_s, 3)},
        "duration_s": round(duration, 3),
        "request_rps": round(t.ok / duration, 3) if duration else None,
        "output_tokens_per_s": round(t.output_tokens / duration, 1) if duration else None,
        "total_tokens_per_s": round((t.output_tokens + t.prompt_tokens) / duration, 1) if duration else None,
        "output_tokens": t.output_tokens, "prompt_tokens": t.prompt_tokens,
        "slo": run.slo, "slo_percentile": run.slo_percentile,
        "goodput_rps": round(t.good / duration, 3) if (duration and run.slo) else None,
        "latency_ms": run.hists.summary("all"),
        "by_workload": {g[3:]: run.hists.summary(g) for g in run.hists.groups() if g.startswith("wl:")},
        "token_sources": dict(t.token_sources),
        "client_cpu_warning": run.client_cpu_warning,
    }
    validity: dict[str, dict[str, Any]] = {}
    for wl, ((checked, valid), reasons) in sorted(t.validity.items()):
        validity[wl] = {"checked": checked, "valid": valid, "valid_rate": round(valid / checked, 4),
                        "top_invalid_reasons": dict(reasons.most_common(3))}
    summary["validity"] = validity
    summary["conformance"] = {"sample": run.conformance_sample, **t.nonconformance.summary()}
    stages = _stage_rows(run)
    if stages:
        summary["stages"] = stages
        passing = [s for s in stages if s["slo_met"]]
        key = "offered_rate" if run.stages[0].rate else "users"
        summary["sweep"] = {"by": key, "max_meeting_slo": max((s[key] for s in passing), default=None) if run.slo else None,
                            "note": None if run.slo else "give --slo-ttft-ms/--slo-tpot-ms to find the max meeting the SLOs"}
    if run.warmup:
        summary["warmup"] = _warmup_summary(run)
    if "ttft_err" in {m for _, m in run.hists.hists}:
        summary["accuracy_vs_simulator_ms"] = {"ttft_abs_err": run.hists.get("all", "ttft_err").summary(),
                                               "itl_abs_err": run.hists.get("all", "itl_err").summary()}
    # verdict
    reasons: list[str] = []
    if run.abort_reason:
        reasons.append(f"aborted: {run.abort_reason}")
    if not t.ok:
        reasons.append("no request succeeded" + (f" (errors: {dict(t.errors)})" if t.errors else ""))
    if t.requests and t.failed / t.requests > run.max_error_rate:
        reasons.append(f"error rate {t.failed / t.requests:.2%} above --max-error-rate {run.max_error_rate:.2%} "
                       f"(by kind: {dict(t.errors)})")
    p = run.slo_percentile
    for metric, limit in run.slo.items():
        hist = run.hists.get("all", metric)
        if hist.count:
            value = hist.percentile(p)
            if value > limit:
                reasons.append(f"SLO missed: {metric} p{p:g} = {value:.1f} ms > {limit:g} ms")
    lag = run.hists.get("all", "send_lag")
    if lag.count:
        summary["send_lag_ms"] = lag.summary()
        summary["intended_e2e_ms"] = run.hists.get("all", "intended_e2e").summary()
        if lag.percentile(99) > run.lag_budget_ms:
            reasons.append(f"open-loop send lag p99 {lag.percentile(99):.1f} ms over the --lag-budget-ms {run.lag_budget_ms:g}: "
                           "the load generator could not keep the schedule; add users (-u) or workers (--processes)")
    if run.capacity is not None:
        # probes beyond the capacity miss the SLOs by design: the search's verdict is whether any rate met them
        summary["capacity"] = run.capacity
        reasons = [r for r in reasons if r.startswith("aborted")]
        if run.capacity["max_rate"] is None:
            reasons.append(f"no rate probed met the SLOs ({run.capacity['stopped']})")
    summary["passed"] = not reasons
    summary["failures"] = reasons
    return summary


def _warmup_summary(run: RunData) -> dict[str, Any]:
    out: dict[str, Any] = {"prefill_buckets": {}, "batch_sizes": {}}
    for rec in run.warmup:
        if not rec["ok"]:
            key = f"bucket {rec.get('bucket')}" if rec.get("bucket") is not None else f"batch {rec.get('batch')}"
            out.setdefault("failed", []).append({key: rec.get("error")})
            continue
        phase = "first_hit_ttft_ms" if rec.get("first_hit") else "warm_ttft_ms"
        if rec.get("batch") is not None:
            slot = out["batch_sizes"].setdefault(str(rec["batch"]), {})
            slot[phase] = max(slot.get(phase, 0.0), rec["ttft_ms"])
        elif rec.get("bucket") is not None:
            out["prefill_buckets"].setdefault(str(rec["bucket"]), {})[phase] = rec["ttft_ms"]
    for bucket, hist in run.totals.ttft_by_bucket.items():
        slot = out["prefill_buckets"].setdefault(str(bucket), {})
        slot["steady_ttft_p50_ms"] = hist.percentile(50)
        slot["steady_requests"] = hist.count
    return out


# ---- files ------------------------------------------------------------------------------------

def write_csv(summary: dict[str, Any], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        cols = ["count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"]
        w.writerow(["group", "metric", *[f"{c}_ms" if c != "count" else c for c in cols]])
        groups = [("all", summary["latency_ms"])] + [(f"workload:{k}", v) for k, v in summary["by_workload"].items()]
        for group, metrics in groups:
            for metric, stats in metrics.items():
                w.writerow([group, metric, *[stats.get(c, "") for c in cols]])
        if summary.get("stages"):
            w.writerow([])
            keys = list(summary["stages"][0])
            w.writerow(keys)
            for row in summary["stages"]:
                w.writerow([row.get(k, "") for k in keys])


_TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>Load test {{ s.scenario }}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1260px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}.fail{color:#b00}.pass{color:#070}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure.empty{padding:8px;border:1px dashed #ccc}</style></head><body>
{% macro stats_table(rows, first, id='') %}<table{% if id %} id="{{ id }}"{% endif %}><tr><th>{{ first }}</th>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for m, st in rows.items() %}<tr><th>{{ m }}</th>{% for c in cols %}<td>{{ st.get(c, '') }}</td>{% endfor %}</tr>{% endfor %}</table>{% endmacro %}
{% macro keyed_table(rows, first) %}{% set keys = rows.values()|map('list')|sum(start=[])|unique|list %}<table><tr><th>{{ first }}</th>{% for k in keys %}<th>{{ k }}</th>{% endfor %}</tr>
{% for name, row in rows.items() %}<tr><th>{{ name }}</th>{% for k in keys %}<td>{{ row.get(k, '') }}</td>{% endfor %}</tr>{% endfor %}</table>{% endmacro %}
<h1>Load test: {{ s.scenario }} &rarr; {{ s.target }}</h1>
<p class="{{ 'pass' if s.passed else 'fail' }}"><b>{{ 'PASSED' if s.passed else 'FAILED' }}</b>
{% for r in s.failures %}<br>{{ r }}{% endfor %}</p>
<p>API {{ s.api }}, mode {{ s.mode }}, {{ s.workers }} worker(s), {{ s.requests }} requests ({{ s.ok }} ok, {{ s.failed }} failed) in {{ s.duration_s }} s;
{{ s.request_rps }} req/s, {{ s.output_tokens_per_s }} output tok/s, {{ s.total_tokens_per_s }} total tok/s
{% if s.goodput_rps is not none %}; goodput {{ s.goodput_rps }} req/s{% endif %}.</p>
{% if not s.requests %}<p class="fail" id="empty-run"><b>No request finished in this run</b>: nothing was measured, so there is nothing to plot.</p>
{% elif not s.ok %}<p class="fail" id="empty-run"><b>No request succeeded</b>: all {{ s.failed }} failed, so no latency was measured; the failures are below.</p>
{% elif s.ok == 1 %}<p id="empty-run">One request succeeded: its distributions are single points.</p>{% endif %}
<h2>Latency (ms, all workloads, failed requests excluded)</h2>
{{ stats_table(s.latency_ms, 'metric') }}
{% for wl, metrics in s.by_workload.items() %}<h3>workload {{ wl }}</h3>{{ stats_table(metrics, 'metric') }}{% endfor %}
{% if s.validity %}<h2>Validity</h2><table><tr><th>workload</th><th>checked</th><th>valid</th><th>rate</th><th>top reasons</th></tr>
{% for wl, v in s.validity.items() %}<tr><th>{{ wl }}</th><td>{{ v.checked }}</td><td>{{ v.valid }}</td><td>{{ v.valid_rate }}</td><td>{% for k, n in v.top_invalid_reasons.items() %}{{ k }} {{ n }}{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</td></tr>{% endfor %}</table>{% endif %}
{% if s.conformance.checked %}<h2>Conformance under load</h2><p>{{ s.conformance.nonconformant }} of {{ s.conformance.checked }} checked streams ({{ s.conformance.sample }} of all sampled, --conformance-sample) broke a rule of the conformance suite (rate {{ s.conformance.rate }}){% if s.conformance.skipped_busy %}; {{ s.conformance.skipped_busy }} sampled streams were left unjudged while the worker was saturated{% endif %}.</p>
{% if s.conformance.by_rule %}<table><tr><th>rule</th><th>streams</th><th>rate</th></tr>{% for rule, v in s.conformance.by_rule.items() %}<tr><th>{{ rule }}</th><td>{{ v.streams }}</td><td>{{ v.rate }}</td></tr>{% endfor %}</table>{% endif %}
<table><tr><th>concurrency (in flight at send)</th><th>checked</th><th>nonconformant</th><th>rate</th><th>by rule</th></tr>{% for users, v in s.conformance.by_concurrency.items() %}<tr><th>{{ users }}</th><td>{{ v.checked }}</td><td>{{ v.nonconformant }}</td><td>{{ v.rate }}</td><td style="text-align:left">{% for k, n in v.by_rule.items() %}{{ k }} {{ n }}{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</td></tr>{% endfor %}</table>
{% for rule, kept in s.conformance.samples.items() %}<h3>{{ rule }}: first streams</h3>{% for k in kept %}<p>{{ k.workload }}, {{ k.users }} in flight: {{ k.error }}</p><pre>{{ k.stream }}</pre>{% endfor %}{% endfor %}{% endif %}
{% if s.unfinished %}<p class="fail">{{ s.unfinished }} request(s) still in flight when the run ended, counted as failed (kind unfinished).</p>{% endif %}
{% if s.backoff.times %}<p>Users backed off {{ s.backoff.times }} time(s) after a 429 or 503, {{ s.backoff.total_s }} s in all (Retry-After, at most {{ s.backoff.max_each_s }} s each).</p>{% endif %}
{% if s.errors_by_kind %}<h2>Errors</h2><table><tr><th>kind</th><th>count</th><th>example</th></tr>
{% for k, n in s.errors_by_kind.items() %}<tr><th>{{ k }}</th><td>{{ n }}</td><td style="text-align:left">{{ s.error_samples.get(k, '') }}</td></tr>{% endfor %}</table>{% endif %}
{% if s.stages %}<h2>Sweep (max {{ s.sweep.by }} meeting SLOs: {{ s.sweep.max_meeting_slo }})</h2><table><tr>{% for k in s.stages[0] %}<th>{{ k }}</th>{% endfor %}</tr>
{% for row in s.stages %}<tr>{% for k in s.stages[0] %}<td>{{ row[k] }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% if s.capacity %}<h2>Capacity: max rate meeting the SLOs {{ s.capacity.max_rate if s.capacity.max_rate is not none else 'none' }} req/s</h2>
<p>highest passing {{ s.capacity.max_rate }}, lowest failing {{ s.capacity.lowest_failing_rate }} req/s; a probe passes when
{{ '%.0f'|format(s.capacity.goodput_share * 100) }}% of its requests met every SLO and its send lag p99 stayed within
{{ s.capacity.lag_budget_ms }} ms; stopped: {{ s.capacity.stopped }}.</p>
{% if s.capacity.probes %}<table><tr>{% for k in s.capacity.probes[0] %}<th>{{ k }}</th>{% endfor %}</tr>
{% for row in s.capacity.probes %}<tr class="{{ 'pass' if row.passed else 'fail' }}">{% for k in row %}<td>{{ row[k] }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}{% endif %}
{% if s.warmup %}<h2>Neuron warmup: first hit against warm (ms)</h2>
{% if s.warmup.prefill_buckets %}{{ keyed_table(s.warmup.prefill_buckets, 'prefill bucket') }}{% endif %}
{% if s.warmup.batch_sizes %}{{ keyed_table(s.warmup.batch_sizes, 'batch size') }}{% endif %}
{% for f in s.warmup.failed or [] %}<p class="fail">warmup failed: {% for k, v in f.items() %}{{ k }}: {{ v }}{% endfor %}</p>{% endfor %}{% endif %}
{% if s.accuracy_vs_simulator_ms %}<h2>Timing error against the simulator's ground truth (ms)</h2>
<p>How far the client's own TTFT and ITL are from the times the simulator says it sent (absolute error per request and per interval).</p>
{{ stats_table(s.accuracy_vs_simulator_ms, 'error', 'timing-error') }}{% endif %}
<h2>Plots</h2><div class="charts">{% for c in charts %}{{ c | safe }}{% endfor %}</div>
</body></html>""")


def write_report(run: RunData, outdir: Path) -> dict[str, Any]:
    outdir.mkdir(parents=True, exist_ok=True)
    summary = build_summary(run)
    (outdir / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    write_csv(summary, outdir / "summary.csv")
    html = _TEMPLATE.render(s=summary, cols=["count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"],
                            charts=run_charts(summary, run.hists, run.totals))
    (outdir / "report.html").write_text(html)
    return summary
