"""Each metric of two runs, their difference with a bootstrap confidence interval, and a verdict.

Is run B's TTFT p99 worse than run A's, or is that noise? Resampling each run's requests with
replacement (seeded, `RESAMPLES` times by default) and recomputing the metric gives the spread a
rerun of the same server would show; the difference is "worse" or "better" only when its 95%
interval excludes no change and the change itself exceeds a noise floor (run-to-run drift of one
server on a shared machine, which no resampling of one run can see).

Requests are resampled in blocks of one second (by the second in which they ended), not one by
one: requests in flight together share the server's batch and the client's stalls, so their
latencies move together, and resampling them apart gave intervals too narrow (two runs of one
simulator side by side came out "better" at TTFT p90). Blocks also carry the time they span, so
throughput and goodput (requests per second) get their interval from the same resamples.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loadtests.compare.runs import NONCONFORMANT, Run

RESAMPLES = 1000
CONFIDENCE = 0.95
NOISE_FLOOR_PCT = 5.0  # a latency or throughput change smaller than this is within noise, however narrow its interval
LATENCIES = ("ttft", "tpot", "itl", "e2e")
PERCENTILES = (50, 90, 99)

WORSE, BETTER, NOISE, NO_DATA, TOO_FEW = "worse", "better", "within noise", "no data", "too few requests"
# A percentile is judged only when each run has this many requests beyond it: with fewer, the p99 of a short
# run is its slowest request or two, and one scheduling hiccup would read as a regression of the server.
MIN_BEYOND_PERCENTILE = 4


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    higher_is_better: bool
    points: bool  # a rate of requests: its change is in percentage points, not in % of run A
    value: Callable[[Sample], float | None]
    judged: Callable[[Sample], bool] = lambda sample: True  # whether a run holds enough to judge it


def _percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest rank of sorted values, as the run's histograms report it."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


class _Columns:
    """A run's requests as columns (one list per figure), so a resample is a list of row numbers."""

    def __init__(self, run: Run) -> None:
        reqs = run.requests
        self.values = {attr: [getattr(r, attr) for r in reqs] for attr in LATENCIES}
        self.flags = {"ok": [r.ok for r in reqs], "good": [r.good for r in reqs],
                      "failed": [not r.ok for r in reqs], NONCONFORMANT: [r.error_kind == NONCONFORMANT for r in reqs],
                      "checked": [r.checked for r in reqs]}
        # one block per second from the first send, by the end of each request; the last block is
        # as long as the part of a second it covers
        t0, duration = run.first_send, max(run.duration_s, 1e-3)
        count = math.ceil(duration)
        self.blocks: list[list[int]] = [[] for _ in range(count)]
        for row, r in enumerate(reqs):
            self.blocks[min(int(r.t_end - t0), count - 1)].append(row)
        self.lengths = [1.0] * (count - 1) + [duration - (count - 1)]


class Sample:
    """Rows of one run (all of them, or a resample) and the seconds they span, with each column sorted once."""

    def __init__(self, cols: _Columns, blocks: list[int]) -> None:
        self.cols = cols
        self.rows = [row for b in blocks for row in cols.blocks[b]]
        self.seconds = sum(cols.lengths[b] for b in blocks)
        self._sorted: dict[str, list[float]] = {}

    def ordered(self, attr: str) -> list[float]:
        got = self._sorted.get(attr)
        if got is None:
            column = self.cols.values[attr]
            got = self._sorted[attr] = sorted(v for v in map(column.__getitem__, self.rows) if v is not None)
        return got

    def count(self, flag: str) -> int:
        return sum(map(self.cols.flags[flag].__getitem__, self.rows))

    @classmethod
    def whole(cls, cols: _Columns) -> Sample:
        return cls(cols, list(range(len(cols.blocks))))

    @classmethod
    def resampled(cls, cols: _Columns, rng: random.Random) -> Sample:
        return cls(cols, rng.choices(range(len(cols.blocks)), k=len(cols.blocks)))


def _latency(attr: str, p: int) -> Callable[[Sample], float | None]:
    return lambda s: _percentile(s.ordered(attr), p)


def _enough_beyond(attr: str, p: int) -> Callable[[Sample], bool]:
    return lambda s: len(s.ordered(attr)) * (100 - p) / 100.0 >= MIN_BEYOND_PERCENTILE


def _share(flag: str, of: str | None = None) -> Callable[[Sample], float | None]:
    """The share of the sample's requests (or of those with flag `of`) that have `flag`."""
    def value(s: Sample) -> float | None:
        total = s.count(of) if of else len(s.rows)
        return s.count(flag) / total if total else None
    return value


def _per_second(flag: str) -> Callable[[Sample], float | None]:
    return lambda s: s.count(flag) / s.seconds if s.seconds else None


_LABELS = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL (per request: median gap per token)", "e2e": "E2E"}


def metrics_for(a: Run, b: Run) -> list[Metric]:
    """The metrics the two runs allow: goodput with an SLO, nonconformance when responses were checked."""
    out = [Metric(f"{lat}_p{p}", f"{_LABELS[lat]} p{p}", "ms", False, False, _latency(lat, p), _enough_beyond(lat, p))
           for lat in LATENCIES for p in PERCENTILES]
    out.append(Metric("throughput", "throughput", "req/s", True, False, _per_second("ok")))
    if a.slo or b.slo:
        out.append(Metric("goodput", "goodput (met every SLO)", "req/s", True, False, _per_second("good")))
    out.append(Metric("error_rate", "error rate", "%", False, True, _share("failed")))
    if a.checks_conformance or b.checks_conformance:  # of the responses checked, as the run's own report gives it
        out.append(Metric("nonconformance_rate", "nonconformance rate", "%", False, True, _share(NONCONFORMANT, of="checked")))
    return out


@dataclass(frozen=True)
class Difference:
    metric: Metric
    a: float | None
    b: float | None
    change: float | None  # B against A: % of A, or percentage points for a rate
    low: float | None
    high: float | None
    verdict: str


def _change(metric: Metric, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if metric.points:
        return (b - a) * 100.0
    if a == 0:
        return 0.0 if b == 0 else math.copysign(math.inf, b)
    return (b - a) / a * 100.0


def _verdict(metric: Metric, change: float | None, low: float | None, high: float | None, noise_floor_pct: float) -> str:
    if change is None or low is None or high is None:
        return NO_DATA
    floor = 0.0 if metric.points else noise_floor_pct
    if low > 0 and change > floor:
        return BETTER if metric.higher_is_better else WORSE
    if high < 0 and change < -floor:
        return WORSE if metric.higher_is_better else BETTER
    return NOISE


def compare(a: Run, b: Run, *, resamples: int = RESAMPLES, seed: int = 0,
            noise_floor_pct: float = NOISE_FLOOR_PCT) -> list[Difference]:
    """Every metric of A and B, B's change against A with its bootstrap interval, and the verdict."""
    metrics = metrics_for(a, b)
    rng = random.Random(seed)
    cols = (_Columns(a), _Columns(b))
    changes: dict[str, list[float]] = {m.name: [] for m in metrics}
    for _ in range(resamples):
        sa, sb = (Sample.resampled(c, rng) for c in cols)
        for m in metrics:
            change = _change(m, m.value(sa), m.value(sb))
            if change is not None and math.isfinite(change):
                changes[m.name].append(change)
    tail = (1.0 - CONFIDENCE) / 2 * 100.0
    out = []
    whole = [Sample.whole(c) for c in cols]  # each sorts a column once, for every metric that reads it
    for m in metrics:
        va, vb = (m.value(sample) for sample in whole)
        change = _change(m, va, vb)
        spread = sorted(changes[m.name])
        low, high = _percentile(spread, tail), _percentile(spread, 100.0 - tail)
        verdict = _verdict(m, change, low, high, noise_floor_pct)
        if verdict != NO_DATA and not all(m.judged(sample) for sample in whole):
            verdict = TOO_FEW
        out.append(Difference(m, va, vb, change, low, high, verdict))
    return out


# ---- the CI gate ----------------------------------------------------------------------------

DEFAULT_THRESHOLD_PCT = 10.0  # latencies and rates per second: % of run A
DEFAULT_THRESHOLD_POINTS = 1.0  # error and nonconformance rates: percentage points


@dataclass(frozen=True)
class Gate:
    pattern: str  # a metric name (ttft_p99) or a family (ttft: its p50, p90 and p99)
    threshold: float | None  # None: the default for the metric's kind

    def covers(self, metric: Metric) -> bool:
        return metric.name == self.pattern or metric.name.startswith(self.pattern + "_p")

    def limit(self, metric: Metric) -> float:
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_THRESHOLD_POINTS if metric.points else DEFAULT_THRESHOLD_PCT


def every_metric_name() -> list[str]:
    """Every name `--fail-on` accepts (families first), whatever two runs turn out to have."""
    lat = [f"{m}_p{p}" for m in LATENCIES for p in PERCENTILES]
    return [*LATENCIES, *lat, "throughput", "goodput", "error_rate", "nonconformance_rate"]


def parse_gate(text: str) -> Gate:
    """`METRIC[:THRESHOLD%]`; ValueError naming the valid metrics or the bad threshold."""
    name, _, threshold = text.partition(":")
    name = name.strip()
    if name not in every_metric_name():
        raise ValueError(f"--fail-on {text!r}: unknown metric {name!r}; one of {', '.join(every_metric_name())}")
    if not threshold:
        return Gate(name, None)
    try:
        value = float(threshold.strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"--fail-on {text!r}: the threshold is a number of percent, e.g. {name}:10%") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"--fail-on {text!r}: the threshold must be 0 or more percent")
    return Gate(name, value)


def gate_failures(diffs: list[Difference], gates: list[Gate]) -> list[str]:
    """The regressions that fail the gate: worse beyond noise and beyond the metric's threshold."""
    failures = []
    for d in diffs:
        for gate in gates:
            if not gate.covers(d.metric) or d.verdict != WORSE or d.change is None:
                continue
            limit = gate.limit(d.metric)
            if abs(d.change) > limit:
                unit = " points" if d.metric.points else "%"
                failures.append(f"{d.metric.name} worse by {abs(d.change):.1f}{unit} (limit {limit:g}{unit}, "
                                f"95% interval {d.low:+.1f} to {d.high:+.1f})")
                break
    return failures
