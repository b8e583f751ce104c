"""The stages of a sweep as a Locust `LoadTestShape`: users and spawn rate per stage, then the end of the run.

A closed-loop sweep (`--sweep-users`, Neuron's `auto` along the batch buckets) sets the users of each
stage; an open-loop rate sweep (`--sweep-rates`) keeps `-u` users and its schedule sets the rate.
A run with one stage has no shape: `listeners.install` detaches it, so `-u`, `-r` and `-t` act as usual.
With `--find-max-rate` the capacity search (`capacity.py`) chooses each next stage instead.
"""

from __future__ import annotations

import logging
import math
import time

import gevent
from locust import LoadTestShape

from loadtests.runner.capacity import CapacitySearch
from loadtests.runner.state import RunState

log = logging.getLogger("loadtest")


class StageShape(LoadTestShape):
    """Steps through the run's stages at their exact times, lets the last requests finish, then ends the run."""

    abstract = True
    use_common_options = True  # -u and -r give the users of an open-loop sweep; -t can end a sweep early
    run_state: RunState  # set by `listeners.install` on the scenario's own subclass
    capacity: CapacitySearch  # likewise; it steps the run when --find-max-rate is given

    def __init__(self) -> None:
        super().__init__()
        self.stage = -1

    def reset_time(self) -> None:
        super().reset_time()
        self.stage = -1  # a new run from the web UI starts the sweep again
        self.capacity.reset()

    def _time_left(self) -> float:
        """Seconds until -t ends the run (it can end a sweep early; infinite without -t)."""
        run_time = self.run_state.opts.run_time
        return run_time - self.get_run_time() if run_time else math.inf

    def _users(self, index: int) -> tuple[int, float]:
        stage = self.run_state.stages[index]
        if stage.users:
            return stage.users, max(stage.users, 1) * 10
        o = self.run_state.opts
        return o.num_users or 1, o.spawn_rate or 1

    def _announce(self) -> tuple[int, float]:
        stages = self.run_state.stages
        stage = stages[self.stage]
        log.info("sweep stage %d/%d: %s for %g s", self.stage + 1, len(stages),
                 f"{stage.users} users" if stage.users else f"{stage.rate:g} requests/s", stage.duration_s)
        return self._users(self.stage)

    def tick(self) -> tuple[int, float] | None:
        if self.capacity.active:
            return self.capacity.tick(self._users(0), self._time_left)
        st = self.run_state
        if self.stage < 0:  # the first tick starts the run; its test_start sets the epoch
            self.stage = 0
            return self._announce()
        end = st.epoch + sum(s.duration_s for s in st.stages[:self.stage + 1])
        wait = end - time.time()
        left = self._time_left()
        if min(wait, left) >= 1.0:
            return self._users(self.stage)
        # Locust ticks once a second: wait here for what is due before the next tick, so that stages
        # change at their own times, not up to a second late
        if left <= wait:
            gevent.sleep(max(0.0, left))
            return None
        gevent.sleep(max(0.0, wait))
        self.stage += 1
        if self.stage < len(st.stages):
            return self._announce()
        # let requests sent in the last stage finish, or the last stage would look slower than it was
        drain_until = time.time() + min(st.opts.stall_timeout_s, 10.0, self._time_left())
        while time.time() < drain_until and (st.is_master or st.inflight > 0):
            gevent.sleep(0.05)
        log.info("sweep finished: stopping the run")
        return None
