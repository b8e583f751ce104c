"""The nonconformance figures of a report: rates by rule, by concurrency and by stage, samples bounded, skips said."""

from __future__ import annotations

from loadtests.report.nonconformance import SAMPLES_PER_RULE, NonconformanceTally, summary_line


def record(users: int, rules: tuple[str, ...] = (), stage: int | None = None, **extra: object) -> dict[str, object]:
    rec: dict[str, object] = {"workload": "tool", "users": users, "conformance_checked": True, "stage": stage, **extra}
    if rules:
        rec |= {"nonconformant": list(rules), "error": f"nonconformant: {rules[0]}: why",
                "extra": {"stream_sample": "data: {}"}}
    return rec


def test_rates_by_rule_concurrency_and_stage():
    tally = NonconformanceTally()
    for rec in [record(1, stage=0), record(1, stage=0), record(4, ("tool-input-json",), stage=1),
                record(4, ("tool-input-json", "usage-matches-stream"), stage=1), record(4, stage=1),
                {"workload": "chat", "users": 4, "ok": False},  # failed before its end: never judged
                {"workload": "chat", "users": 4, "conformance_skipped": True}]:
        tally.add(rec)
    s = tally.summary()
    assert (s["checked"], s["nonconformant"], s["rate"], s["skipped_busy"]) == (5, 2, 0.4, 1)
    assert s["by_rule"] == {"tool-input-json": {"streams": 2, "rate": 0.4}, "usage-matches-stream": {"streams": 1, "rate": 0.2}}
    assert s["by_concurrency"] == {
        "1": {"checked": 2, "nonconformant": 0, "rate": 0.0, "by_rule": {}},
        "4": {"checked": 3, "nonconformant": 2, "rate": 0.6667, "by_rule": {"tool-input-json": 2, "usage-matches-stream": 1}}}
    assert tally.stage_figures(0) == {"conformance_checked": 2, "nonconformant": 0, "nonconformance_rate": 0.0}
    assert tally.stage_figures(1) == {"conformance_checked": 3, "nonconformant": 2, "nonconformance_rate": 0.6667}
    assert tally.stage_figures(2) == {"conformance_checked": 0, "nonconformant": 0, "nonconformance_rate": None}
    line = summary_line(s)
    assert line == ("nonconformant 2/5 checked (40.0%); by rule: tool-input-json 2, usage-matches-stream 1; "
                    "by concurrency: 1: 0/2, 4: 2/3 (1 sampled streams unjudged: the worker was saturated; "
                    "lower --conformance-sample)")


def test_samples_are_bounded_per_rule_and_nothing_checked_prints_nothing():
    tally = NonconformanceTally()
    for _ in range(10):
        tally.add(record(2, ("json-output-schema",)))
    kept = tally.summary()["samples"]["json-output-schema"]
    assert len(kept) == SAMPLES_PER_RULE and kept[0] == {"workload": "tool", "users": 2, "stream": "data: {}",
                                                         "error": "nonconformant: json-output-schema: why"}
    assert summary_line(NonconformanceTally().summary()) is None
