"""Mergeable latency histograms (HdrHistogram, about 1% relative error).

Locust rounds response times to two significant digits (whole milliseconds under 100 ms), too
coarse for a 5 ms ITL; these histograms keep microseconds with 2 significant decimal digits of
relative precision, and encode to a few hundred bytes so workers ship deltas to the master.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

_MAX_US = 3600 * 1_000_000
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
# metric names of the histograms; ms values
METRICS = ("ttft", "tpot", "itl_token", "itl_chunk", "e2e", "send_lag", "intended_e2e", "ttft_err", "itl_err")


def _new() -> HdrHistogram:
    return HdrHistogram(1, _MAX_US, 2)


def _release(h: HdrHistogram) -> None:
    """Free a histogram now instead of at the next full garbage collection.

    hdrh's histogram and its encoder point at each other, so a dropped histogram (27 KB) waits for
    the cyclic collector, which the load generator's settings make rare: every worker report
    (a fresh set on the worker, a decoded copy per histogram on the master) grew both processes by
    about 0.3 KB per request until one ran.
    """
    h.encoder = None


class Indexed:
    """Millisecond values turned once into counts-array indexes, for every histogram (they share one layout).

    hdrh's own `record_value` costs a few microseconds per call, and a request records two values per
    token into two or three groups: the index is computed here once per value, and each histogram then
    only adds counts. (Per value and group, that was a tenth of the load generator's CPU at 200 streams.)
    """

    __slots__ = ("pairs", "total", "low", "high")
    _LAYOUT = _new()
    _MASK, _UNIT = _LAYOUT.sub_bucket_mask, _LAYOUT.unit_magnitude
    _HALF_MAG, _HALF = _LAYOUT.sub_bucket_half_count_magnitude, _LAYOUT.sub_bucket_half_count
    _release(_LAYOUT)

    def __init__(self, values_ms: Iterable[tuple[float, int]]) -> None:
        mask, unit, half_mag, half = self._MASK, self._UNIT, self._HALF_MAG, self._HALF
        pairs: list[tuple[int, int]] = []
        total = 0
        low, high = _MAX_US, 1
        for ms, count in values_ms:
            us = int(ms * 1000.0 + 0.5)
            us = 1 if us < 1 else (_MAX_US if us > _MAX_US else us)
            bucket = (us | mask).bit_length() - unit - (half_mag + 1)
            pairs.append((((bucket + 1) << half_mag) + (us >> (bucket + unit)) - half, count))
            total += count
            if us < low:
                low = us
            if us > high:
                high = us
        self.pairs, self.total, self.low, self.high = pairs, total, low, high


class Histogram:
    """Milliseconds in, milliseconds out; stored in microseconds."""

    __slots__ = ("h",)

    def __init__(self) -> None:
        self.h = _new()

    def record(self, ms: float, count: int = 1) -> None:
        self.add(Indexed(((ms, count),)))

    def add(self, values: Indexed) -> None:
        if not values.total:
            return
        counts = self.h.counts
        for index, count in values.pairs:
            counts[index] += count
        h = self.h
        h.total_count += values.total
        if values.low < h.min_value:
            h.min_value = values.low
        if values.high > h.max_value:
            h.max_value = values.high

    @property
    def count(self) -> int:
        return self.h.get_total_count()

    def percentile(self, p: float) -> float:
        return self.h.get_value_at_percentile(p) / 1000.0

    def summary(self) -> dict[str, float | int | None]:
        if not self.count:
            return {"count": 0}
        out: dict[str, float | int | None] = {"count": self.count, "mean": round(self.h.get_mean_value() / 1000.0, 3),
                                              "min": self.h.get_min_value() / 1000.0}
        for p in PERCENTILES:
            out[f"p{p:g}"] = self.percentile(p)
        out["max"] = self.h.get_max_value() / 1000.0
        return out

    def encode(self) -> str:
        return self.h.encode().decode("ascii")

    def add_encoded(self, encoded: str) -> None:
        other = HdrHistogram.decode(encoded.encode("ascii"))
        self.h.add(other)
        _release(other)

    def release(self) -> None:
        """Free the histogram now (it is no longer used); see `_release`."""
        _release(self.h)

    def merge(self, other: Histogram) -> None:
        self.h.add(other.h)


class HistogramSet:
    """Histograms keyed by (group, metric); group is "all", "wl:<workload>" or "stage:<n>"."""

    def __init__(self) -> None:
        self.hists: dict[tuple[str, str], Histogram] = {}

    def get(self, group: str, metric: str) -> Histogram:
        key = (group, metric)
        hist = self.hists.get(key)
        if hist is None:
            hist = self.hists[key] = Histogram()
        return hist

    def record(self, groups: Iterable[str], metric: str, ms: float, count: int = 1) -> None:
        self.record_many(groups, metric, ((ms, count),))

    def record_many(self, groups: Iterable[str], metric: str, values_ms: Iterable[tuple[float, int]]) -> None:
        """Record (ms, count) pairs into every group, indexing them once."""
        values = Indexed(values_ms)
        if values.total:
            for group in groups:
                self.get(group, metric).add(values)

    def encode(self) -> dict[str, str]:
        return {f"{g}|{m}": h.encode() for (g, m), h in self.hists.items() if h.count}

    def release(self) -> None:
        """Free every histogram now (the set was shipped and is dropped); see `_release`."""
        for h in self.hists.values():
            h.release()

    def add_encoded(self, payload: dict[str, str]) -> None:
        for key, encoded in payload.items():
            group, _, metric = key.rpartition("|")
            self.get(group, metric).add_encoded(encoded)

    def groups(self) -> list[str]:
        return sorted({g for g, _ in self.hists})

    def summary(self, group: str) -> dict[str, dict[str, Any]]:
        return {m: h.summary() for (g, m), h in sorted(self.hists.items()) if g == group and h.count}
