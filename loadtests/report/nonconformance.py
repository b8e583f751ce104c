"""How often the answers broke the conformance suite's rules, by rule, by concurrency and by sweep stage.

Under load the question is not only "how fast" but "still correct": a tool-call parser or guided
decoding that breaks only when many sequences share a batch shows up here as a rate that grows with
concurrency. Folded record by record like `RunTotals`, in space that does not grow with the run: counters,
and the first few failing streams of each rule as samples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

SAMPLES_PER_RULE = 3


class NonconformanceTally:
    """Checked and nonconformant streams of one run (records carry `conformance_checked` and `nonconformant`)."""

    def __init__(self) -> None:
        self.checked = 0
        self.failed = 0
        self.skipped_busy = 0  # sampled streams left unjudged while the worker was saturated
        self.by_rule: Counter[str] = Counter()
        # concurrency (in-flight requests at send, as the TTFT-by-concurrency plot) -> [checked, nonconformant]
        self.by_users: dict[int, list[int]] = {}
        self.rules_by_users: dict[int, Counter[str]] = {}
        self.by_stage: dict[int, list[int]] = {}  # sweep stage -> [checked, nonconformant]
        self.samples: dict[str, list[dict[str, Any]]] = {}

    def add(self, rec: dict[str, Any]) -> None:
        self.skipped_busy += bool(rec.get("conformance_skipped"))
        if not rec.get("conformance_checked"):
            return
        rules = rec.get("nonconformant") or ()
        users = int(rec.get("users") or 0)
        self.checked += 1
        self.failed += bool(rules)
        _count(self.by_users.setdefault(users, [0, 0]), rules)
        if rec.get("stage") is not None:
            _count(self.by_stage.setdefault(rec["stage"], [0, 0]), rules)
        for rule in rules:
            self.by_rule[rule] += 1
            self.rules_by_users.setdefault(users, Counter())[rule] += 1
            kept = self.samples.setdefault(rule, [])
            if len(kept) < SAMPLES_PER_RULE:
                kept.append({"workload": rec.get("workload"), "users": users, "error": rec.get("error"),
                             "stream": rec.get("extra", {}).get("stream_sample")})

    def stage_figures(self, stage: int) -> dict[str, Any]:
        checked, failed = self.by_stage.get(stage, (0, 0))
        return {"conformance_checked": checked, "nonconformant": failed, "nonconformance_rate": _rate(failed, checked)}

    def summary(self) -> dict[str, Any]:
        return {
            "checked": self.checked, "nonconformant": self.failed, "rate": _rate(self.failed, self.checked),
            "skipped_busy": self.skipped_busy,
            "by_rule": {rule: {"streams": n, "rate": _rate(n, self.checked)} for rule, n in self.by_rule.most_common()},
            "by_concurrency": {
                str(users): {"checked": checked, "nonconformant": failed, "rate": _rate(failed, checked),
                             "by_rule": dict(self.rules_by_users.get(users, {}))}
                for users, (checked, failed) in sorted(self.by_users.items())},
            "samples": self.samples,
        }


def _count(counts: list[int], rules: Any) -> None:
    counts[0] += 1
    counts[1] += bool(rules)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summary_line(conformance: dict[str, Any]) -> str | None:
    """The console's line: the rate, then by rule and by concurrency; None when nothing was checked."""
    if not conformance.get("checked"):
        return None
    skipped = conformance.get("skipped_busy")
    busy = f" ({skipped} sampled streams unjudged: the worker was saturated; lower --conformance-sample)" if skipped else ""
    rules = ", ".join(f"{rule} {v['streams']}" for rule, v in conformance["by_rule"].items()) or "none broken"
    levels = ", ".join(f"{users}: {v['nonconformant']}/{v['checked']}" for users, v in conformance["by_concurrency"].items())
    sample = conformance.get("sample")
    share = f" (--conformance-sample {sample:g})" if sample is not None else ""
    return (f"nonconformant {conformance['nonconformant']}/{conformance['checked']} checked{share} ({conformance['rate']:.1%}); "
            f"by rule: {rules}; by concurrency: {levels}{busy}")
