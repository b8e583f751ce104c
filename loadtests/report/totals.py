"""What the report needs of every request, in space that does not grow with the length of the run.

A request's record takes about 13 KB in memory; kept in a list for the report, an hour at 200 req/s
is gigabytes. So each record is written to records.jsonl and folded here as it arrives: counters,
per-second buckets and small histograms (per concurrency level, per Neuron prefill bucket), which
are all the summary and the plots need. Latency percentiles themselves come from the run's
`HistogramSet`. The only per-request values kept are bounded samples spread over the whole run, for
the plots over time: TTFT and ITL of at most `SCATTER_SAMPLES` successes, and the time of at most
`FAILURE_SAMPLES` failures of each kind.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from loadtests.report.metrics import Histogram
from loadtests.report.nonconformance import NonconformanceTally
from loadtests.report.records import itl_per_token

SCATTER_SAMPLES = 5000
FAILURE_SAMPLES = 1000  # per failure kind
INVALID_REASONS_KEPT = 100  # distinct reasons counted per workload; more are counted as "(other reasons)"
_OTHER = "(other reasons)"


class RunTotals:
    """Counts, sums and per-second buckets of the measured (not warmup) requests of one run."""

    def __init__(self) -> None:
        self.requests = 0
        self.ok = 0
        self.first_send = math.inf
        self.last_end = -math.inf
        self.output_tokens = 0
        self.prompt_tokens = 0
        self.good = 0  # successful requests meeting every SLO given
        self.backoff_times = 0
        self.backoff_s = 0.0
        self.errors: Counter[str] = Counter()
        self.error_samples: dict[str, str] = {}  # the first message of each kind
        self.token_sources: Counter[str | None] = Counter()
        self.validity: dict[str, tuple[list[int], Counter[str]]] = {}  # workload: ([checked, valid], invalid reasons)
        self.per_second: dict[int, list[int]] = {}  # whole Unix second of the end: [successes, output tokens]
        self.stages: dict[int, list[int]] = {}  # stage: [requests, failed]
        self.ttft_by_users: dict[int, Histogram] = {}  # in-flight requests at send: TTFT of the successes
        self.ttft_by_bucket: dict[int, Histogram] = {}  # Neuron prefill bucket: TTFT of the successes
        self.latency_samples = Thinned(SCATTER_SAMPLES)  # (send time, TTFT ms, ITL per token ms or None)
        self.failure_samples: dict[str, Thinned] = {}  # kind: end times of its failures
        self.nonconformance = NonconformanceTally()

    def add(self, rec: dict[str, Any]) -> None:
        self.requests += 1
        self.first_send = min(self.first_send, rec["t_send"])
        self.last_end = max(self.last_end, rec["t_end"])
        if rec.get("backoff_s"):
            self.backoff_times += 1
            self.backoff_s += rec["backoff_s"]
        stage = rec.get("stage")
        if stage is not None:
            counts = self.stages.setdefault(stage, [0, 0])
            counts[0] += 1
            counts[1] += not rec["ok"]
        if rec["ok"]:
            self._add_success(rec)
        else:
            kind = rec.get("error_kind", "unknown")
            self.errors[kind] += 1
            self.error_samples.setdefault(kind, (rec.get("error") or "")[:300])
            self.failure_samples.setdefault(kind, Thinned(FAILURE_SAMPLES)).add(rec["t_end"])
        self.nonconformance.add(rec)
        if rec.get("valid") is not None:  # also a nonconformant answer's: the rate is of every complete answer
            counts, reasons = self.validity.setdefault(rec["workload"], ([0, 0], Counter()))
            counts[0] += 1
            if rec["valid"]:
                counts[1] += 1
            else:
                reason = rec.get("invalid_reason", "")[:60]
                reasons[reason if reason in reasons or len(reasons) < INVALID_REASONS_KEPT else _OTHER] += 1

    def _add_success(self, rec: dict[str, Any]) -> None:
        self.ok += 1
        out_tokens = rec.get("output_tokens") or 0
        self.output_tokens += out_tokens
        self.prompt_tokens += rec.get("prompt_tokens") or 0
        self.good += bool(rec.get("slo_ok"))
        self.token_sources[rec.get("token_source")] += 1
        second = self.per_second.setdefault(math.floor(rec["t_end"]), [0, 0])
        second[0] += 1
        second[1] += out_tokens
        ttft = rec["ttft_ms"]
        _hist(self.ttft_by_users, int(rec.get("users") or 0)).record(ttft)
        if rec.get("bucket") is not None:
            _hist(self.ttft_by_bucket, rec["bucket"]).record(ttft)
        self.latency_samples.add((rec["t_send"], ttft, itl_per_token(rec)))

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def duration_s(self) -> float:
        """From the first send to the last end (0 with no request)."""
        return max(self.last_end - self.first_send, 1e-9) if self.requests else 0.0


class Thinned:
    """At most `cap` items spread evenly over everything offered, in arrival order.

    When full, every other item is dropped and from then on only every other arrival is kept (then
    every fourth, ...), so a plot over time covers the whole run, not only its first minutes.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[Any] = []
        self._stride = 1
        self._seen = 0

    def add(self, item: Any) -> None:
        if self._seen % self._stride == 0:
            self.items.append(item)
            if len(self.items) >= self.cap:
                del self.items[1::2]
                self._stride *= 2
        self._seen += 1


def _hist(by_key: dict[int, Histogram], key: int) -> Histogram:
    hist = by_key.get(key)
    if hist is None:
        hist = by_key[key] = Histogram()
    return hist


def percentile_or_none(hist: Histogram | None, p: float) -> float | None:
    """A histogram's percentile, or None when it holds nothing (as for an empty list of values)."""
    return hist.percentile(p) if hist is not None and hist.count else None
