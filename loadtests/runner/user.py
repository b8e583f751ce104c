"""The Locust user: one keep-alive connection, one streamed chat request per task, closed or open loop."""

from __future__ import annotations

import json
import logging
import random
import time

import gevent
from locust import User, constant, task

from loadtests.client.connection import Connection
from loadtests.client.failures import RequestFailure
from loadtests.runner.requests import stream_once
from loadtests.runner.schedule import stage_of
from loadtests.runner.state import RunState
from loadtests.runner.workloads import build_request

log = logging.getLogger("loadtest")


def _wake_at(t: float) -> None:
    """Sleep until Unix time `t` on a top-priority timer.

    In a busy loop turn, reads that are ready would otherwise run before a due arrival and add their
    time to its send lag; reads lose nothing by waiting, since their arrival times are the kernel's.
    """
    delay = t - time.time()
    if delay <= 0:
        return
    hub = gevent.get_hub()
    hub.loop.update_now()  # the loop's cached time can be stale, which would fire the timer early
    timer = hub.loop.timer(delay, priority=2)  # libev's highest priority
    try:
        hub.wait(timer)
    finally:
        timer.close()


class LLMUser(User):
    """A streaming chat user: closed loop by default, or taking arrivals from the global open-loop schedule."""

    abstract = True
    wait_time = constant(0)
    run_state: RunState  # set by `listeners.install` on the scenario's own subclass
    in_request = False

    def stop(self, force: bool = False) -> bool:
        # At the end of a run only a request in flight is waited for (Locust's stop timeout, which
        # `listeners.install` sets from the stall timeout); a user between requests, waiting for its
        # open-loop slot or idle, ends at once instead of sending after the end.
        return super().stop(force=force or not self.in_request)

    def on_start(self) -> None:
        st = self.run_state
        self.rng = random.Random(st.opts.seed * 7919 + id(self))
        if not st.ready.wait(timeout=30):
            st.abort("the run never got its start time from the master (custom options lost?)")
            self.stop()
            return
        try:
            target = st.target()
        except ValueError as exc:
            st.abort(str(exc))
            self.stop()
            return
        self.conn = Connection(target, st.opts.connect_timeout_s, st.opts.stall_timeout_s)
        try:
            self.conn.connect()  # now, not when the first request is due
        except RequestFailure:
            pass  # the first request tries again and reports the failure as its own

    def on_stop(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()

    def lengths(self, workload: str) -> tuple[int | None, int | None]:
        """Prompt and output lengths (None: the workload's defaults); neuron.py keeps them inside the sequence length."""
        return None, None

    @task
    def chat(self) -> None:
        st = self.run_state
        slot = None
        if st.idle:
            gevent.sleep(1.0)
            return
        if st.schedule is not None:
            slot = st.schedule.take()
            if slot is None:  # the schedule is over: idle until the run stops
                gevent.sleep(1.0)
                return
        workload = self.rng.choices(st.wl_names, st.wl_weights)[0]
        prompt, output = self.lengths(workload)
        assert st.cfg is not None
        req = build_request(workload, st.cfg, self.rng, prompt, output)
        body = json.dumps(req.body).encode()  # before the wait: at the intended time only the send is left
        if slot is not None:
            _wake_at(slot.t_intended)
        if st.stopping:  # the run began to stop while this user waited: a request now would only measure the stop
            return
        stage = slot.stage if slot else (stage_of(time.time(), st.epoch, st.stages) if len(st.stages) > 1 else None)
        self.in_request = True
        try:
            out = stream_once(st, self.conn, req, t_intended=slot.t_intended if slot else None, stage=stage, body=body)
        finally:
            self.in_request = False
        st.accountant.submit(out)
        if out.exc is not None:
            # the server asked this user to wait (429/503); otherwise a refused connection fails without
            # blocking, so let the rest of the worker run
            gevent.sleep(out.exc.backoff_s)
        lag = None if slot is None else (out.t_send - slot.t_intended) * 1e3
        if lag is not None and lag > st.opts.lag_budget_ms and time.time() - st.last_lag_warning > 5:
            st.last_lag_warning = time.time()
            log.warning("open-loop schedule running %.1f ms behind (budget %g ms): the users are all busy or the worker is "
                        "saturated; add users (-u) or workers (--processes)", lag, st.opts.lag_budget_ms)
