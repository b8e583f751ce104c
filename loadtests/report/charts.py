"""Which charts a run's report shows, and from which of its figures; the drawing is `plots`.

Each chart is named (`data-chart`), so a browser test can ask for the charts a kind of run must show.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from loadtests.report.metrics import Histogram, HistogramSet
from loadtests.report.plots import Events, Series, chart, distribution
from loadtests.report.totals import RunTotals

# histogram metric: how the page names it
DISTRIBUTIONS = {"ttft": "TTFT", "tpot": "TPOT", "itl_token": "ITL per token", "e2e": "E2E latency"}


def _at_or_above_resolution(hist: Histogram) -> Callable[[float], float]:
    """The histogram's percentiles, with its 1 µs floor read back as the zero it stands for (a TPOT of a
    one-token answer), so the log axis leaves it out and says so instead of plotting a fake 0.001 ms."""
    return lambda p: v if (v := hist.percentile(p)) > 0.001 else 0.0


def _distributions(hists: HistogramSet) -> list[str]:
    workloads = [g for g in hists.groups() if g.startswith("wl:")]
    out = []
    for metric, label in DISTRIBUTIONS.items():
        curves = [(group[3:], _at_or_above_resolution(hists.get(group, metric))) for group in workloads
                  if hists.get(group, metric).count]
        out.append(distribution(f"latency-{metric}", f"{label} distribution per workload", curves, f"{label}, ms"))
    return out


def _over_time(totals: RunTotals) -> list[str]:
    t0 = totals.first_send
    failures = [Events(f"failed: {kind}", [t - t0 for t in sample.items]) for kind, sample in sorted(totals.failure_samples.items())]
    samples = totals.latency_samples.items
    note = f" (a sample of {len(samples)} spread over the run)" if len(samples) < totals.ok else ""
    xlabel = "seconds since the first request was sent"
    return [
        chart("ttft-over-time", f"TTFT per request over time{note}, failures marked at their time",
              [Series("TTFT (at send)", [(ts - t0, ttft) for ts, ttft, _ in samples], dots=True)], xlabel, "TTFT, ms (log scale)",
              logy=True, events=failures),
        chart("itl-over-time", f"ITL per request over time{note}, failures marked at their time",
              [Series("ITL (at send)", [(ts - t0, itl) for ts, _, itl in samples], dots=True)], xlabel,
              "ITL, ms (log scale)", logy=True, events=failures, empty="no request streamed a second chunk")]


def _throughput(totals: RunTotals) -> list[str]:
    first = math.floor(totals.first_send)
    last = max(totals.per_second) - first
    seconds = [totals.per_second.get(first + b, (0, 0)) for b in range(last + 1)]
    conc = sorted(totals.ttft_by_users)
    return [
        chart("throughput-over-time", "Throughput over time", [
            Series("requests/s", [(b, n) for b, (n, _) in enumerate(seconds)]),
            Series("output tokens/s ÷ 10", [(b, tokens / 10) for b, (_, tokens) in enumerate(seconds)])],
            "seconds since the first request ended (by end time)", "per second"),
        chart("ttft-by-concurrency", "TTFT against concurrency (in-flight requests at send)", [
            Series("p50", [(c, totals.ttft_by_users[c].percentile(50)) for c in conc]),
            Series("p99", [(c, totals.ttft_by_users[c].percentile(99)) for c in conc])],
            "concurrent requests", "TTFT, ms (log scale)", logy=True)]


def _sweep(summary: dict[str, Any], hists: HistogramSet) -> list[str]:
    """One point per stage, against the stage's level (users or offered rate)."""
    stages, by = summary["stages"], summary["sweep"]["by"]
    p = f"p{summary['slo_percentile']:g}"
    level = "offered requests/s" if by == "offered_rate" else "users"
    xs = [row[by] for row in stages]

    def stage_pct(metric: str, pct: float) -> Series:
        points = []
        for x, row in zip(xs, stages):
            hist = hists.get(f"stage:{row['stage']}", metric)
            points.append((x, hist.percentile(pct) if hist.count else None))
        return Series(f"{DISTRIBUTIONS[metric].split()[0]} p{pct:g}", points)

    throughput = [Series("achieved requests/s", [(x, row["achieved_rps"]) for x, row in zip(xs, stages)])]
    if by == "offered_rate":
        throughput.append(Series("offered requests/s", [(x, x) for x in xs]))
    rates = [Series("error rate", [(x, 100 * row["failed"] / row["requests"] if row["requests"] else None) for x, row in zip(xs, stages)]),
             Series("nonconformance rate", [(x, None if row["nonconformance_rate"] is None else 100 * row["nonconformance_rate"])
                                            for x, row in zip(xs, stages)])]
    return [
        chart("sweep-throughput", "Sweep: throughput per stage", throughput, level, "requests/s"),
        chart("sweep-latency", "Sweep: TTFT and ITL percentiles per stage",
              [stage_pct("ttft", 50), stage_pct("ttft", summary["slo_percentile"]), stage_pct("itl_token", 50),
               stage_pct("itl_token", summary["slo_percentile"])], level, f"ms (log scale; p50 and {p})", logy=True),
        chart("sweep-errors", "Sweep: error and nonconformance rates per stage", rates, level, "% of requests (of checked streams)",
              empty="no stage had a request")]


def _capacity(capacity: dict[str, Any]) -> list[str]:
    """Goodput and latency against the offered rate, one point per probe (in rate order, not search order)."""
    probes = sorted(capacity["probes"], key=lambda p: p["rate"])
    rates = [p["rate"] for p in probes]
    return [
        chart("capacity-goodput", "Capacity search: goodput against offered rate", [
            Series("goodput", [(p["rate"], p["goodput_rps"]) for p in probes]),
            Series(f"{capacity['goodput_share']:.0%} of offered", [(r, r * capacity["goodput_share"]) for r in rates])],
            "offered requests/s", "requests/s meeting the SLOs"),
        chart("capacity-latency", "Capacity search: latency against offered rate", [
            Series(name, [(p["rate"], p[key]) for p in probes])
            for name, key in (("TTFT p50", "ttft_p50_ms"), ("TTFT p99", "ttft_p99_ms"), ("E2E p50", "e2e_p50_ms"),
                              ("E2E p99", "e2e_p99_ms"))], "offered requests/s", "ms (log scale)", logy=True)]


def run_charts(summary: dict[str, Any], hists: HistogramSet, totals: RunTotals) -> list[str]:
    charts = _capacity(summary["capacity"]) if summary.get("capacity") and summary["capacity"]["probes"] else []
    charts += _distributions(hists)
    if totals.requests:
        charts += _over_time(totals)
    if totals.ok:
        charts += _throughput(totals)
    if summary.get("stages"):
        charts += _sweep(summary, hists)
    return charts
