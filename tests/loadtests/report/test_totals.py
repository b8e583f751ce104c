"""The report's totals: what the summary and plots need of every request, in memory that does not grow with the run."""

from __future__ import annotations

from loadtests.report.files import RunData, build_summary
from loadtests.report.totals import INVALID_REASONS_KEPT, SCATTER_SAMPLES, RunTotals
from loadtests.runner.schedule import Stage


def _ok(i: int, **kw: object) -> dict:
    rec = {"workload": "tool", "ok": True, "t_send": 1000.0 + i / 100, "t_end": 1000.5 + i / 100, "ttft_ms": 10.0 + i % 7,
           "output_tokens": 4, "prompt_tokens": 10, "users": 1 + i % 3, "token_source": "usage", "valid": True, "stage": i % 2}
    rec.update(kw)
    return rec


def test_totals_count_every_request_and_keep_only_bounded_samples():
    totals = RunTotals()
    n = SCATTER_SAMPLES + 500
    for i in range(n):
        totals.add(_ok(i, valid=i % 10 != 0, invalid_reason=f"reason {i}"))
    totals.add({"workload": "tool", "ok": False, "t_send": 999.0, "t_end": 1100.0, "error_kind": "rate_limited",
                "error": "HTTP 429", "backoff_s": 2.5, "stage": 1})
    assert (totals.requests, totals.ok, totals.failed) == (n + 1, n, 1)
    assert totals.duration_s == 101.0 and totals.output_tokens == 4 * n
    assert totals.errors == {"rate_limited": 1} and totals.error_samples == {"rate_limited": "HTTP 429"}
    assert (totals.backoff_times, totals.backoff_s) == (1, 2.5)
    assert sum(ok for ok, _ in totals.per_second.values()) == n
    assert totals.stages == {0: [(n + 1) // 2, 0], 1: [n // 2 + 1, 1]}
    assert sorted(totals.ttft_by_users) == [1, 2, 3] and sum(h.count for h in totals.ttft_by_users.values()) == n
    samples = totals.latency_samples.items
    assert SCATTER_SAMPLES // 2 <= len(samples) < SCATTER_SAMPLES  # the scatter's sample is bounded
    assert samples[0][0] == 1000.0 and samples[-1][0] >= 1000.0 + (n - 3) / 100  # and spread over the whole run
    assert [t for t, _, _ in samples] == sorted(t for t, _, _ in samples)
    assert totals.failure_samples["rate_limited"].items == [1100.0]  # failures kept by kind, at their end
    (checked, valid), reasons = totals.validity["tool"]
    assert checked == n and checked - valid == sum(reasons.values()) == len(range(0, n, 10))
    assert len(reasons) == INVALID_REASONS_KEPT + 1 and reasons["(other reasons)"] > 0  # distinct reasons are bounded


def test_summary_and_stage_rows_come_from_the_totals_and_histograms():
    run = RunData(scenario="vllm", target="http://x", api="chat", mode="closed", stages=[Stage(10.0, users=1), Stage(10.0, users=2)],
                  slo={"ttft": 50.0}, slo_percentile=99.0, max_error_rate=0.0, lag_budget_ms=100.0)
    for i in range(200):
        rec = _ok(i)
        run.totals.add(rec)
        run.hists.record(["all", f"stage:{rec['stage']}"], "ttft", rec["ttft_ms"])
    s = build_summary(run)
    assert (s["requests"], s["ok"], s["failed"], s["error_rate"]) == (200, 200, 0, 0.0)
    assert s["validity"]["tool"] == {"checked": 200, "valid": 200, "valid_rate": 1.0, "top_invalid_reasons": {}}
    assert [row["requests"] for row in s["stages"]] == [100, 100]
    assert 15.8 <= s["stages"][0]["ttft_p99_ms"] <= 16.2 and s["stages"][0]["tpot_p50_ms"] is None
    assert s["passed"] and s["sweep"]["max_meeting_slo"] == 2
