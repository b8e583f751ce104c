"""Where a scenario meets Locust: its options, its event listeners, worker-to-master merging, its user and shape.

Every measurement goes through `events.request.fire` with the exact figures in `context`; a listener
turns them into histograms and records. Workers ship histogram deltas and records to the master in
the `report_to_master` payload (every 3 s and once more when they quit); the master (or the single
local process) writes the report and sets the exit code. With no `--host`, the master starts the
embedded simulator in a separate process and every worker is sent its address.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadtests.client.connection import Target
from loadtests.client.failures import RequestFailure
from loadtests.runner.capacity import CapacitySearch
from loadtests.runner.pauses import look_up_callers_now, quiet_garbage_collector
from loadtests.runner.options import ScenarioSpec, add_arguments, check_api, check_locust_options, stages_of
from loadtests.runner.shapes import StageShape
from loadtests.runner.state import RunState
from loadtests.runner.target import discover_model, probe_api, start_simulator, stop_simulator
from loadtests.runner.user import LLMUser

log = logging.getLogger("loadtest")
_REPORT_KEY = "llm_loadtest"


class Scenario(NamedTuple):
    """The base classes a locustfile subclasses: its user and its sweep shape, both bound to one run state."""

    user: type[LLMUser]
    shape: type[StageShape]


def install(spec: ScenarioSpec, warmup: Callable[[RunState], None] | None = None) -> Scenario:
    """Register the scenario's options and event listeners; the locustfile subclasses the returned classes.

    `warmup(state)` (neuron.py) runs once in the master or local process before measuring.
    """
    st = RunState(spec)
    search = CapacitySearch(st)
    user = type("ScenarioUser", (LLMUser,), {"abstract": True, "run_state": st, "__module__": __name__})
    shape = type("ScenarioShape", (StageShape,), {"abstract": True, "run_state": st, "capacity": search,
                                                  "__module__": __name__})

    @events.init_command_line_parser.add_listener
    def _(parser: Any) -> None:
        add_arguments(parser, spec)

    @events.init.add_listener
    def on_init(environment: Any, **_kw: Any) -> None:
        st.env = environment
        st.opts = o = environment.parsed_options
        if o is None:
            return
        try:
            if not isinstance(environment.runner, WorkerRunner):
                check_locust_options(o)
            check_api(o)
            st.mode, st.stages = stages_of(o, spec)
        except ValueError as exc:
            _refuse(f"load test options: {exc}")
        search.configure(o)
        if search.active and isinstance(environment.runner, (MasterRunner, WorkerRunner)):
            _refuse("load test options: --find-max-rate runs in one process (each rate depends on the last probe); "
                    "drop --processes/--master, or use --sweep-rates across workers")
        if not environment.stop_timeout:
            # requests in flight when the run ends may finish (or stall) before they are cut off as
            # `unfinished`: so the run ends within -t plus the stall timeout plus a second
            environment.stop_timeout = o.stall_timeout_s + 1.0
        if (len(st.stages) < 2 and not search.active) or isinstance(environment.runner, WorkerRunner):
            environment.shape_class = None  # no sweep: -u, -r and -t drive the run as in any Locust run
        if isinstance(environment.runner, WorkerRunner):
            environment.runner.register_message("llm_drain", lambda environment, msg, **kw: gevent.spawn(drain_worker))
            return
        if not environment.host:
            environment.host = start_simulator(st)
            if not o.model:
                o.model = "sim-model"
        else:
            try:
                Target.parse(environment.host)
            except ValueError as exc:
                _refuse(str(exc))
        if isinstance(environment.runner, MasterRunner):
            environment.runner.register_message("llm_abort", lambda environment, msg, **kw: st.abort(msg.data["reason"]))
            environment.runner.register_message("llm_drained", on_drained)
            environment.runner.quit = _quit_after_workers_drain(st, environment.runner)
        if not o.model:
            try:
                o.model = discover_model(st)
            except RequestFailure as exc:
                raise SystemExit(f"cannot find the model to test at {environment.host} ({exc}); give --model") from None
            log.info("--model not given: using %r from GET /v1/models", o.model)
        if st.api.name != "chat":
            missing = probe_api(st)
            if missing:
                stop_simulator(st)  # Locust never quits through its listeners from here
                raise SystemExit(missing)
        if warmup is not None:
            # before Locust starts its clock, so that -t measures the steady state only
            st.setup_worker()
            warmup(st)

    @events.init.add_listener
    def on_init_done(**_kw: Any) -> None:
        # Locust arms its -t timer next, relative to the event loop's cached time, which has not moved since the
        # loop last ran: seconds ago on a slow machine (the imports, the work above). A stale clock ended a
        # 2 s run before its first request; brought up to date, the timer counts from now.
        gevent.get_hub().loop.update_now()

    @events.test_start.add_listener
    def on_test_start(environment: Any, **_kw: Any) -> None:
        look_up_callers_now()
        quiet_garbage_collector()
        st.stopping = False
        if not st.is_worker:
            st.setup_report()
        if not st.is_master:
            st.setup_worker()

    @events.spawning_complete.add_listener
    def on_spawning_complete(**_kw: Any) -> None:
        gc.freeze()  # the users just made live as long as the run

    @events.test_stopping.add_listener
    def on_test_stopping(**_kw: Any) -> None:
        st.stopping = True

    @events.test_stop.add_listener
    def on_test_stop(environment: Any, **_kw: Any) -> None:
        # a local run stopped from the web UI gets its report now (headless runs report when quitting,
        # and a master waits for its workers' last figures, which arrive with their quit message)
        if not st.is_worker and not st.is_master and not st.opts.headless and st.run is not None and not st.finished:
            st.finish()

    @events.request.add_listener
    def on_request(context: dict[str, Any] | None = None, **_kw: Any) -> None:
        if context and "llm_record" in context:
            st.ingest(context["llm_record"], context["itl_token"], context["itl_chunk"])
            search.observe(context["llm_record"])

    @events.report_to_master.add_listener
    def on_report(client_id: str, data: dict[str, Any]) -> None:
        data[_REPORT_KEY] = st.take_report()

    @events.worker_report.add_listener
    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        st.merge_report(data.get(_REPORT_KEY))

    def drain_worker() -> None:
        # the master is quitting: stop the users here first (those in a request get the stop timeout),
        # then ship every record before the quit message, after which the master waits only 0.5 s
        st.env.runner.stop()
        st.env.runner.send_message("llm_drained", st.take_report(final=True))

    def on_drained(environment: Any, msg: Any, **_kw: Any) -> None:
        st.merge_report(msg.data)
        st.drained_workers += 1

    @events.quitting.add_listener
    def on_quitting(environment: Any, **_kw: Any) -> None:
        try:
            if not st.is_worker and not st.is_master:
                environment.runner.stop()  # Ctrl-C or SIGTERM: end the users before the simulator goes away
            if not st.is_worker and st.run is not None and not st.finished:
                st.finish()
        finally:
            stop_simulator(st)

    return Scenario(user, shape)


def _refuse(message: str) -> NoReturn:
    """A bad option: the message and exit code 2, as argparse does for the options it checks itself."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(2)


def _quit_after_workers_drain(st: RunState, runner: MasterRunner) -> Callable[[], None]:
    """The master's `quit`, made to wait until every worker has stopped its users and sent its last records.

    Locust's own quit gives workers 0.5 s for their final report, less than a request in flight at the
    end takes to finish; its records would be lost and the run would look cleaner than it was.
    """
    quit_now = runner.quit

    def quit_when_drained() -> None:
        if runner.worker_count and not st.drain_asked:
            st.drain_asked = True
            st.drained_workers = 0
            runner.send_message("llm_drain")
            give_up = time.monotonic() + runner.environment.stop_timeout + 5.0
            while st.drained_workers < runner.worker_count and time.monotonic() < give_up:
                gevent.sleep(0.05)
        quit_now()

    return quit_when_drained
