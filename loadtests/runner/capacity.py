"""`--find-max-rate`: the highest open-loop rate at which the server still meets the SLOs, as one figure.

A server team needs a rate it can promise. The search runs probes, each one open-loop stage at one
rate on the run's schedule machinery (`ArrivalSchedule`): it doubles the rate from the start rate
until a probe fails (or halves it until one passes), then bisects between the highest passing and
the lowest failing rate until they are within `--capacity-precision` of each other, within
`--capacity-max-steps` probes and `--capacity-max-time-s` seconds. A probe passes when at least
`--goodput-share` of its requests succeeded and met every SLO given (so the rate answered well is
that share of the rate offered) and the send lag p99 stayed within `--lag-budget-ms` (else the
client, not the server, was the limit). Between probes the requests in flight finish, so a failing
probe's queue never counts against the next one.

One process only: the next rate depends on the last probe's results, which a master learns from
its workers only every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import gevent

from loadtests.report.metrics import Histogram
from loadtests.runner.schedule import ArrivalSchedule, Stage

if TYPE_CHECKING:
    from loadtests.runner.state import RunState

log = logging.getLogger("loadtest")

DEFAULT_START_RATE = 1.0
DEFAULT_MAX_STEPS = 12
DEFAULT_MAX_TIME_S = 600.0
DEFAULT_PRECISION = 0.05
DEFAULT_GOODPUT_SHARE = 0.95
_NEXT_PROBE_S = 1.2  # users idle between probes wake once a second: the next probe starts after they are back


def add_arguments(group: Any, positive: Any, bounded: Any) -> None:
    """The search's options, on the scenario's option group (`positive`, `bounded`: options.py's checked parsers)."""
    group.add_argument("--find-max-rate", env_var="LOADTEST_FIND_MAX_RATE", action="store_true", default=False,
                       help="search the highest open-loop rate meeting the SLOs (probes of --stage-s each); needs an SLO")
    group.add_argument("--capacity-start-rate", env_var="LOADTEST_CAPACITY_START_RATE", type=positive("--capacity-start-rate"),
                       default=None, help=f"first rate probed (default --rate, else {DEFAULT_START_RATE:g} req/s)")
    group.add_argument("--capacity-max-steps", env_var="LOADTEST_CAPACITY_MAX_STEPS", type=positive("--capacity-max-steps", True),
                       default=DEFAULT_MAX_STEPS, help=f"probes at most (default {DEFAULT_MAX_STEPS})")
    group.add_argument("--capacity-max-time-s", env_var="LOADTEST_CAPACITY_MAX_TIME_S", type=positive("--capacity-max-time-s"),
                       default=DEFAULT_MAX_TIME_S, help=f"no probe starts after this many seconds (default {DEFAULT_MAX_TIME_S:g})")
    group.add_argument("--capacity-precision", env_var="LOADTEST_CAPACITY_PRECISION",
                       type=bounded("--capacity-precision", 0, 1, "a fraction above 0 and at most 1", "0.05", low_open=True),
                       default=DEFAULT_PRECISION,
                       help=f"stop when the lowest failing rate is within this fraction of the highest passing (default {DEFAULT_PRECISION:g})")
    group.add_argument("--goodput-share", env_var="LOADTEST_GOODPUT_SHARE",
                       type=bounded("--goodput-share", 0, 1, "a fraction above 0 and at most 1", "0.95", low_open=True),
                       default=DEFAULT_GOODPUT_SHARE,
                       help=f"a probe passes when this share of its requests met every SLO (default {DEFAULT_GOODPUT_SHARE:g})")


def first_stage(opts: Any, slo_given: bool) -> tuple[str, list[Stage]]:
    """The run's mode and its first probe; ValueError when the search cannot be run as asked."""
    if opts.sweep_rates or opts.sweep_users:
        raise ValueError("--find-max-rate chooses its own rates; drop --sweep-rates/--sweep-users")
    if not slo_given:
        raise ValueError("--find-max-rate needs an SLO (--slo-ttft-ms, --slo-tpot-ms or --slo-e2e-ms): without one every "
                         "rate looks met while the server's queue grows")
    mode = opts.arrival if opts.arrival != "closed" else "poisson"
    start = opts.capacity_start_rate or opts.rate or DEFAULT_START_RATE
    return mode, [Stage(opts.stage_s, rate=start)]


@dataclass
class Probe:
    """One rate tried: what its requests showed, and whether it met the SLOs."""

    rate: float
    duration_s: float
    requests: int = 0
    good: int = 0
    failed: int = 0
    passed: bool | None = None
    goodput_rps: float | None = None
    send_lag_p99_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    reason: str = ""  # last: the report's table gives it the room left


class CapacitySearch:
    """The probes of one run, fed by the request listener and stepped by the run's shape."""

    def __init__(self, st: RunState) -> None:
        self.st = st
        self.active = False
        self.probes: list[Probe] = []
        self._hists: list[dict[str, Histogram]] = []
        self.probe_end: float | None = None
        self.started = 0.0
        self.stopped = ""

    def configure(self, opts: Any) -> None:
        self.active = bool(getattr(opts, "find_max_rate", False))

    def reset(self) -> None:
        """A new run from the web UI searches again."""
        self.probes, self._hists, self.probe_end, self.stopped = [], [], None, ""

    # ---- measurement (the request listener) --------------------------------------------------
    def observe(self, rec: dict[str, Any]) -> None:
        k = rec.get("stage")
        if not self.active or k is None or rec.get("warmup") or not 0 <= k < len(self.probes):
            return
        probe, hists = self.probes[k], self._hists[k]
        probe.requests += 1
        if rec.get("send_lag_ms") is not None:
            hists["send_lag"].record(max(rec["send_lag_ms"], 0.001))
        if not rec["ok"]:
            probe.failed += 1
            return
        probe.good += bool(rec.get("slo_ok"))
        hists["ttft"].record(rec["ttft_ms"])
        hists["e2e"].record(rec["e2e_ms"])

    # ---- the search (the shape's ticks) ------------------------------------------------------
    def _start_probe(self, rate: float, start: float | None) -> None:
        self.probes.append(Probe(rate, self.st.opts.stage_s))
        self._hists.append({m: Histogram() for m in ("send_lag", "ttft", "e2e")})
        self.probe_end = None if start is None else start + self.st.opts.stage_s

    def tick(self, users: tuple[int, float], time_left: Callable[[], float]) -> tuple[int, float] | None:
        """The shape's tick while searching: `users` to keep, `time_left` until -t ends the run; None ends it."""
        st = self.st
        if not self.probes:  # the first tick starts the run: the first probe is its own first stage
            self._start_probe(st.stages[0].rate or DEFAULT_START_RATE, None)
            log.info("capacity search: probe 1 at %g requests/s for %g s", self.probes[0].rate, st.opts.stage_s)
            return users
        if self.probe_end is None:  # the run's start time is set by its test_start, after the first tick
            self.started = st.epoch
            self.probe_end = st.epoch + st.opts.stage_s
        wait = self.probe_end - time.time()
        left = time_left()
        if min(wait, left) >= 1.0:
            return users
        if left <= wait:  # -t ends the search early; the probes judged so far are the result
            gevent.sleep(max(0.0, left))
            return None
        gevent.sleep(max(0.0, wait))
        self._drain()
        self._judge(self.probes[-1])
        rate = self._next_rate()
        if rate is None:
            self._conclude()
            return None
        start = time.time() + _NEXT_PROBE_S
        k = len(self.probes)
        # zero-length stages before the probe number the slots of this schedule k, the probe's index
        st.schedule = ArrivalSchedule(st.mode, [Stage(0.0, rate=1.0)] * k + [Stage(st.opts.stage_s, rate=rate)],
                                      start, seed=st.opts.seed + k)
        self._start_probe(rate, start)
        log.info("capacity search: probe %d at %.4g requests/s", k + 1, rate)
        return users

    def _drain(self) -> None:
        """Let the probe's requests end and be accounted (bounded by the stall timeout)."""
        st = self.st
        give_up = time.time() + st.opts.stall_timeout_s + 1.0
        while (st.inflight > 0 or st.accountant.queue) and time.time() < give_up:
            gevent.sleep(0.05)
        st.accountant.drain(final=st.inflight == 0)

    def _judge(self, probe: Probe) -> None:
        o = self.st.opts
        hists = self._hists[len(self.probes) - 1]
        probe.goodput_rps = round(probe.good / probe.duration_s, 3)
        for name, metric, p in (("send_lag_p99_ms", "send_lag", 99), ("ttft_p50_ms", "ttft", 50), ("ttft_p99_ms", "ttft", 99),
                                ("e2e_p50_ms", "e2e", 50), ("e2e_p99_ms", "e2e", 99)):
            if hists[metric].count:
                setattr(probe, name, hists[metric].percentile(p))
        share = probe.good / probe.requests if probe.requests else 0.0
        if not probe.requests:
            probe.passed, probe.reason = False, "no request was sent"
        elif share < o.goodput_share:
            probe.passed, probe.reason = False, f"{share:.1%} of requests met the SLOs (< {o.goodput_share:.0%})"
        elif probe.send_lag_p99_ms is not None and probe.send_lag_p99_ms > o.lag_budget_ms:
            probe.passed, probe.reason = False, (f"send lag p99 {probe.send_lag_p99_ms:.1f} ms over the {o.lag_budget_ms:g} ms "
                                                 "budget: the client could not keep the schedule (add -u users)")
        else:
            probe.passed, probe.reason = True, f"{share:.1%} of requests met the SLOs"
        log.info("capacity search: %g requests/s %s (%s)", probe.rate, "passed" if probe.passed else "failed", probe.reason)
        self._publish()

    def bracket(self) -> tuple[float | None, float | None]:
        """(highest passing rate, lowest failing rate above it) of the probes so far."""
        passing = [p.rate for p in self.probes if p.passed]
        low = max(passing, default=None)
        failing = [p.rate for p in self.probes if p.passed is False and (low is None or p.rate > low)]
        return low, min(failing, default=None)

    def _next_rate(self) -> float | None:
        o = self.st.opts
        low, high = self.bracket()
        if low is not None and high is not None and high <= low * (1.0 + o.capacity_precision):
            self.stopped = f"bracket within {o.capacity_precision:.0%}"
            return None
        if len(self.probes) >= o.capacity_max_steps:
            self.stopped = f"step limit ({o.capacity_max_steps} probes)"
            return None
        if time.time() + _NEXT_PROBE_S + o.stage_s - self.started > o.capacity_max_time_s:
            self.stopped = f"time limit ({o.capacity_max_time_s:g} s)"
            return None
        if high is None:
            return low * 2.0  # type: ignore[operator]  # the first probe passed or failed, so one bound exists
        if low is None:
            if high < 0.01:
                self.stopped = "no rate down to 0.01 requests/s met the SLOs"
                return None
            return high / 2.0
        return (low + high) / 2.0

    def result(self) -> dict[str, Any]:
        low, high = self.bracket()
        return {"max_rate": low, "lowest_failing_rate": high, "goodput_share": self.st.opts.goodput_share,
                "precision": self.st.opts.capacity_precision, "lag_budget_ms": self.st.opts.lag_budget_ms,
                "stopped": self.stopped or "the run ended (-t or a stop) before the search did",
                "probes": [asdict(p) for p in self.probes if p.passed is not None]}

    def _publish(self) -> None:
        if self.st.run is not None:
            self.st.run.capacity = self.result()

    def _conclude(self) -> None:
        low, high = self.bracket()
        self._publish()
        above = f"{high:.4g}" if high is not None else "none failed"
        figure = f"{low:.4g} requests/s" if low is not None else "none"
        print(f"max rate meeting the SLOs: {figure} (highest passing {low if low is None else f'{low:.4g}'}, "
              f"lowest failing {above}; {len(self.probes)} probes, stopped: {self.stopped})", flush=True)

