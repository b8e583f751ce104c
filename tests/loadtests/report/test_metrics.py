"""Histograms: percentiles within their stated error, merging across workers, sub-millisecond values."""

from __future__ import annotations

import math
import random

import pytest

from loadtests.report.metrics import Histogram, HistogramSet


def _nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(len(ordered) * p / 100))) - 1]


def test_histogram_percentiles_within_one_percent_and_merge_across_workers():
    rng = random.Random(3)
    values = [rng.lognormvariate(math.log(10), 0.6) for _ in range(20000)]
    a, b = HistogramSet(), HistogramSet()
    for i, v in enumerate(values):
        (a if i % 2 else b).record(["all"], "itl_token", v)
    merged = HistogramSet()
    merged.add_encoded(a.encode())
    merged.add_encoded(b.encode())
    h = merged.get("all", "itl_token")
    assert h.count == len(values)
    for p in (50, 90, 99, 99.9):
        exact = _nearest_rank(values, p)
        assert h.percentile(p) == pytest.approx(exact, rel=0.011)


def test_histogram_keeps_sub_millisecond_resolution():
    h = Histogram()
    h.record(0.25)
    h.record(5.004)
    assert h.percentile(0) == pytest.approx(0.25, rel=0.01)
    assert h.percentile(100) == pytest.approx(5.004, rel=0.01)


def test_histogram_counts_are_exactly_hdrh_own_record_value():
    """The inline indexing must put every value in the bucket hdrh itself would, clamped values included."""
    from hdrh.histogram import HdrHistogram

    rng = random.Random(7)
    values = [rng.lognormvariate(2, 2) for _ in range(5000)] + [0.0, 0.0004, 5e9, 0.5, 1e-3]
    ours, theirs = HistogramSet(), HdrHistogram(1, 3600 * 1_000_000, 2)
    ours.record_many(("all", "wl:chat"), "itl_chunk", ((v, 1) for v in values))
    for v in values:
        theirs.record_value(min(max(int(v * 1000 + 0.5), 1), 3600 * 1_000_000))
    for group in ("all", "wl:chat"):
        h = ours.get(group, "itl_chunk").h
        assert list(h.counts) == list(theirs.counts)
        assert (h.total_count, h.min_value, h.max_value) == (theirs.total_count, theirs.min_value, theirs.max_value)
