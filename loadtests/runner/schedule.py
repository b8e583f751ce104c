"""The open-loop arrival schedule, one for the whole run, shared by every user of every worker.

Locust's `constant_throughput()` paces each user on its own, which gives bursts and idle gaps. Here
every worker generates the same global sequence of arrival times (same seed, same epoch) and keeps
every N-th one (N workers, its own index), so the union over workers is exactly the global Poisson
or constant process, with no message per request. A user takes the next arrival when it is free;
if all users were busy, the arrival is sent late and the lag is recorded (no coordinated omission).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    duration_s: float  # math.inf for an unbounded single stage
    rate: float | None = None  # open loop: global requests per second
    users: int | None = None  # closed-loop sweep: users in this stage


@dataclass(frozen=True)
class Slot:
    t_intended: float  # Unix time
    stage: int


class ArrivalSchedule:
    def __init__(self, kind: str, stages: list[Stage], epoch: float, worker_index: int = 0, worker_count: int = 1,
                 seed: int = 1) -> None:
        if kind not in ("poisson", "constant"):
            raise ValueError(f"arrival kind {kind!r}: expected 'poisson' or 'constant'")
        if not stages or any(s.rate is None or s.rate <= 0 for s in stages):
            raise ValueError("an open-loop schedule needs stages with a rate > 0 requests/s")
        if not 0 <= worker_index < worker_count:
            raise ValueError(f"worker index {worker_index} outside 0..{worker_count - 1}")
        self.kind = kind
        self.stages = stages
        self.epoch = epoch
        self.worker_index = worker_index
        self.worker_count = worker_count
        self._rng = random.Random(seed)
        self._stage = 0
        self._stage_start = epoch
        self._t = epoch
        self._k = 0  # arrivals generated in the current stage (constant rate)
        self._global_i = -1

    def _next_global(self) -> Slot | None:
        while self._stage < len(self.stages):
            stage = self.stages[self._stage]
            rate = stage.rate or 1.0
            if self.kind == "constant":
                t = self._stage_start + self._k / rate
                self._k += 1
            else:
                t = self._t + self._rng.expovariate(rate)
            end = self._stage_start + stage.duration_s
            if t < end:
                self._t = t
                return Slot(t, self._stage)
            # memoryless: the next stage starts its own process at its boundary
            self._stage += 1
            self._stage_start = end
            self._t = end
            self._k = 0
            if math.isinf(end):
                return None
        return None

    def take(self) -> Slot | None:
        """This worker's next arrival, or None when the schedule is over."""
        while True:
            slot = self._next_global()
            if slot is None:
                return None
            self._global_i += 1
            if self._global_i % self.worker_count == self.worker_index:
                return slot

    @property
    def end(self) -> float:
        return self.epoch + sum(s.duration_s for s in self.stages)


def stage_of(t: float, epoch: float, stages: list[Stage]) -> int | None:
    """Index of the stage that time t falls in (None before the epoch or after the last stage)."""
    if t < epoch:
        return None
    start = epoch
    for i, stage in enumerate(stages):
        if t < start + stage.duration_s:
            return i
        start += stage.duration_s
    return None
