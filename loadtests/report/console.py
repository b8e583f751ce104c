"""The summary a run prints when it ends: the headline figures, the verdict and where the report is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests.report.nonconformance import summary_line

_CONSOLE_METRICS = ("ttft", "tpot", "itl_token", "itl_chunk", "e2e", "send_lag", "intended_e2e")


def _latency_line(lat: dict[str, Any], metric: str) -> str:
    s = lat.get(metric) or {}
    if not s.get("count"):
        return f"{metric:<10} -"
    return f"{metric:<10} p50 {s['p50']:9.2f}  p90 {s['p90']:9.2f}  p99 {s['p99']:9.2f}  max {s['max']:9.2f} ms  (n={s['count']})"


def summary_lines(summary: dict[str, Any], client_cpu_warning: bool, outdir: Path) -> list[str]:
    """The console summary of `summary` (as `write_report` returns it)."""
    lat = summary["latency_ms"]
    lines = [f"LLM load test {summary['scenario']} -> {summary['target']} [{summary['mode']}, {summary['workers']} worker(s)]",
             f"requests {summary['requests']} ok {summary['ok']} failed {summary['failed']} in {summary['duration_s']} s: "
             f"{summary['request_rps']} req/s, {summary['output_tokens_per_s']} output tok/s"
             + (f", goodput {summary['goodput_rps']} req/s" if summary.get("goodput_rps") is not None else "")]
    lines += [_latency_line(lat, m) for m in _CONSOLE_METRICS]
    if summary["errors_by_kind"]:
        lines.append(f"errors by kind: {summary['errors_by_kind']}")
    if summary.get("backoff", {}).get("times"):
        b = summary["backoff"]
        lines.append(f"backed off after 429/503: {b['times']} time(s), {b['total_s']} s in all "
                     f"(Retry-After, at most {b['max_each_s']:g} s each)")
    if summary.get("unfinished"):
        lines.append(f"unfinished: {summary['unfinished']} request(s) still in flight when the run ended (counted as failed)")
    for wl, v in summary["validity"].items():
        lines.append(f"valid {wl}: {v['valid']}/{v['checked']} ({v['valid_rate']:.1%})")
    conformance = summary_line(summary.get("conformance") or {})
    if conformance:
        lines.append(conformance)
    if "capacity" in summary:
        cap = summary["capacity"]
        rate = f"{cap['max_rate']:.4g} requests/s" if cap["max_rate"] is not None else "none"
        above = f"{cap['lowest_failing_rate']:.4g}" if cap["lowest_failing_rate"] is not None else "none failed"
        lines.append(f"max rate meeting the SLOs: {rate} (lowest failing {above}; {len(cap['probes'])} probes, "
                     f"stopped: {cap['stopped']})")
    if "sweep" in summary:
        lines.append(f"sweep: max {summary['sweep']['by']} meeting the SLOs = {summary['sweep']['max_meeting_slo']}")
    if "accuracy_vs_simulator_ms" in summary:
        acc = summary["accuracy_vs_simulator_ms"]
        lines.append("timing error vs simulator: TTFT p50 %.3f p99 %.3f ms; ITL p50 %.3f p99 %.3f ms" % (
            acc["ttft_abs_err"].get("p50", float("nan")), acc["ttft_abs_err"].get("p99", float("nan")),
            acc["itl_abs_err"].get("p50", float("nan")), acc["itl_abs_err"].get("p99", float("nan"))))
    if client_cpu_warning:
        lines.append("WARNING: a load-generator process went above 90% CPU, which inflates every latency above; "
                     "add workers (--processes N) or lower -u")
    lines.append(("PASSED" if summary["passed"] else "FAILED: " + "; ".join(summary["failures"])))
    lines.append(f"report: {outdir}/report.html (summary.json, summary.csv, records.jsonl)")
    return lines
