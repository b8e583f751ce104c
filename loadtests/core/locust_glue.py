"""The one module that talks to Locust: the streaming user, event hooks, worker-to-master merging, report.

Every measurement goes through `events.request.fire` with the exact figures in `context`; a listener
turns them into histograms and records. Workers ship histogram deltas and records to the master in
the `report_to_master` payload (every 3 s and once more when they quit); the master (or the single
local process) writes the report and sets the exit code. With no `--host`, the master starts the
embedded simulator in a separate process and every worker is sent its address.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import random
import shlex
import subprocess
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from loadtests.core.chat_stream import ChatStreamAccumulator, StreamResult, latencies_of
from loadtests.core.http_stream import Connection, SSEParser, StreamError, Target, classify_http_error
from loadtests.core.metrics import HistogramSet, RequestRecord
from loadtests.core.options import ScenarioSpec, add_arguments, stages_of
from loadtests.core.report import RunData, write_report
from loadtests.core.schedule import ArrivalSchedule, Stage, stage_of
from loadtests.core.workloads import WireOptions, WorkloadConfig, WorkloadRequest, build_request, validate_output
from loadtests.sim.profiles import bucket_for

log = logging.getLogger("loadtest")
_FATAL_AT_START = {"connect_refused", "connect_error", "connect_timeout", "not_sse", "protocol", "http_4xx"}
_REPORT_KEY = "llm_loadtest"


class _State:
    """Everything this process knows about the run (one per process)."""

    def __init__(self, spec: ScenarioSpec) -> None:
        self.spec = spec
        self.env: Any = None
        self.opts: Any = None
        self.mode = "closed"
        self.stages: list[Stage] = [Stage(math.inf)]
        self.epoch = 0.0
        self.schedule: ArrivalSchedule | None = None
        self.worker_index = 0
        self.worker_count = 1
        self.hists = HistogramSet()
        self.pending: list[dict[str, Any]] = []
        self.run: RunData | None = None  # master or local process only
        self.records_fh: Any = None
        self.outdir: Path | None = None
        self.sim: subprocess.Popen[str] | None = None
        self.sim_url = ""
        self.warmup_records: list[dict[str, Any]] = []
        self.idle = False  # a worker that joined an open-loop run after its start has no share of the schedule
        self.finished = True  # the current run's report is written
        self.inflight = 0
        self.ok_count = 0
        self.fatal_streak: Counter = Counter()
        self.aborted = False
        self.last_lag_warning = 0.0
        self.ready = Event()
        self.wl_names: list[str] = []
        self.wl_weights: list[float] = []
        self.cfg: WorkloadConfig | None = None
        self.accountant = Accountant(self)

    @property
    def is_worker(self) -> bool:
        return isinstance(self.env.runner, WorkerRunner)

    @property
    def is_master(self) -> bool:
        return isinstance(self.env.runner, MasterRunner)

    @property
    def slo(self) -> dict[str, float]:
        o = self.opts
        return {k: v for k, v in (("ttft", o.slo_ttft_ms), ("tpot", o.slo_tpot_ms), ("e2e", o.slo_e2e_ms)) if v}

    def target(self) -> Target:
        return Target.parse(self.env.host)

    # ---- measurement ----------------------------------------------------------------------
    def ingest(self, rec: dict[str, Any], itl_token: list[tuple[float, int]], itl_chunk: list[float]) -> None:
        """Called by the request listener in the process that ran the request."""
        if rec.get("warmup"):
            self.warmup_records.append(rec)
            return
        groups = ["all", "wl:" + rec["workload"]]
        if rec.get("stage") is not None and len(self.stages) > 1:
            groups.append(f"stage:{rec['stage']}")
        h = self.hists
        if rec.get("send_lag_ms") is not None:
            h.record(groups, "send_lag", max(rec["send_lag_ms"], 0.001))
        if rec["ok"]:
            h.record(groups, "ttft", rec["ttft_ms"])
            h.record(groups, "e2e", rec["e2e_ms"])
            if rec.get("tpot_ms") is not None:
                h.record(groups, "tpot", rec["tpot_ms"])
            if rec.get("intended_e2e_ms") is not None:
                h.record(groups, "intended_e2e", rec["intended_e2e_ms"])
            h.record_many(groups, "itl_token", itl_token)
            h.record_many(groups, "itl_chunk", ((v, 1) for v in itl_chunk))
            if rec.get("ttft_err_ms") is not None:
                h.record(("all",), "ttft_err", abs(rec["ttft_err_ms"]))
                h.record_many(("all",), "itl_err", ((abs(e), 1) for e in rec.get("extra", {}).pop("itl_errs", [])))
        else:
            rec.get("extra", {}).pop("itl_errs", None)
        if self.run is not None:
            self.add_record(rec)
        else:
            self.pending.append(rec)

    def add_record(self, rec: dict[str, Any]) -> None:
        run = self.run
        assert run is not None
        if rec.get("warmup"):
            run.warmup.append(rec)
            return
        run.records.append(rec)
        if not rec["ok"]:
            kind = rec.get("error_kind", "unknown")
            run.errors[kind] += 1
            run.error_samples.setdefault(kind, (rec.get("error") or "")[:300])
        if self.records_fh is not None:
            self.records_fh.write(json.dumps(rec, separators=(",", ":")) + "\n")

    def abort(self, reason: str) -> None:
        if self.aborted:
            return
        self.aborted = True
        log.error("stopping the load test: %s", reason)
        runner = self.env.runner
        if self.is_worker:
            runner.send_message("llm_abort", {"reason": reason})
        else:
            if self.run is not None:
                self.run.abort_reason = reason
            gevent.spawn(runner.quit if self.opts.headless else runner.stop)


STATE: _State | None = None


def _st() -> _State:
    assert STATE is not None, "loadtests.core.locust_glue.install() was not called by the locustfile"
    return STATE


# ---- one request ----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one request left on the critical path; `account` turns it into figures later."""

    req: WorkloadRequest
    t_send: float
    t_failed: float
    users: int
    t_intended: float | None
    stage: int | None
    warmup: bool
    fields: dict[str, Any]
    body_len: int
    status: int | None = None
    res: StreamResult | None = None
    exc: StreamError | None = None


def stream_once(st: _State, conn: Connection, req: WorkloadRequest, *, t_intended: float | None = None,
                stage: int | None = None, warmup: bool = False, body: bytes | None = None, **fields: Any) -> Outcome:
    """Send one streamed chat request and read it to the end: only what must happen while it arrives.

    `body`: the request already encoded (an open-loop user encodes it before waiting for its slot).
    """
    if body is None:
        body = json.dumps(req.body).encode()
    st.inflight += 1
    out = Outcome(req, time.time(), 0.0, st.inflight * st.worker_count, t_intended, stage, warmup, fields, len(body))
    try:
        out.t_send, resp = conn.request("POST", "/v1/chat/completions", body)
        out.status = resp.status
        if resp.status != 200:
            raise classify_http_error(resp.status, resp.read_all())
        if "text/event-stream" not in resp.content_type:
            raw = resp.read_all(4096)
            conn.close()
            raise StreamError("not_sse", f"expected a text/event-stream body, got {resp.content_type or 'no content type'!r}: "
                                         f"{raw[:120]!r}; is {conn.target} an OpenAI-compatible server with streaming?", 200)
        acc = ChatStreamAccumulator(out.t_send)
        parser = SSEParser()
        on_data, on_comment, feed = acc.on_data, acc.on_comment, parser.feed
        for ts, piece in resp.iter_body():
            for kind, text in feed(piece):
                if kind == "data":
                    on_data(ts, text)
                else:
                    on_comment(ts, text)
        res = acc.finish()
        if not res.done:
            raise StreamError("protocol", "the stream ended without `data: [DONE]`")
        out.res = res
    except StreamError as err:
        out.exc = err
        out.t_failed = time.time()
        conn.close()
    finally:
        st.inflight -= 1
    return out


def run_request(st: _State, conn: Connection, req: WorkloadRequest, **kw: Any) -> dict[str, Any]:
    """One request measured and accounted at once (warmup); returns its record."""
    return account(st, stream_once(st, conn, req, **kw))


def account(st: _State, out: Outcome) -> dict[str, Any]:
    """Latencies, validation, ground-truth errors and the Locust request event of one finished request."""
    req, res, exc = out.req, out.res, out.exc
    lat = None
    if exc is None:
        assert res is not None
        try:
            lat = latencies_of(res)
        except StreamError as err:
            exc = err
    t_send = out.t_send
    if lat is not None:
        t_end = max(res.t_end, res.chunk_ts[-1])  # type: ignore[union-attr]
    else:  # failed while reading, or a complete stream without output
        t_end = out.t_failed or (res.t_end if res is not None and res.t_end else time.time())
    rec = RequestRecord(workload=req.workload, ok=exc is None, worker=st.worker_index, t_intended=out.t_intended,
                        t_send=t_send, t_end=t_end, stage=out.stage, users=out.users, warmup=out.warmup, status=out.status,
                        **out.fields)
    if out.t_intended is not None:
        rec.send_lag_ms = round((t_send - out.t_intended) * 1e3, 3)
    if exc is not None:
        rec.error_kind, rec.error = exc.kind, str(exc)
        rec.e2e_ms = round((t_end - t_send) * 1e3, 3)
        itl_token: list[tuple[float, int]] = []
        itl_chunk: list[float] = []
    else:
        assert lat is not None and res is not None
        rec.ttft_ms, rec.e2e_ms = round(lat.ttft_ms, 3), round(lat.e2e_ms, 3)
        rec.tpot_ms = None if lat.tpot_ms is None else round(lat.tpot_ms, 3)
        rec.output_tokens, rec.prompt_tokens = lat.output_tokens, res.prompt_tokens
        rec.chunks, rec.events, rec.token_source, rec.finish_reason = len(res.chunk_ts), res.events, res.token_source, res.finish_reason
        if lat.itl_chunk_ms:
            ordered = sorted(lat.itl_chunk_ms)
            rec.itl_chunk_p50_ms = round(ordered[len(ordered) // 2], 3)
            rec.itl_chunk_max_ms = round(ordered[-1], 3)
        if out.t_intended is not None:
            rec.intended_e2e_ms = round((t_end - out.t_intended) * 1e3, 3)
        rec.valid, rec.invalid_reason = validate_output(req, res)
        slo = st.slo
        rec.slo_ok = all(v is not None and v <= slo[k] for k, v in (("ttft", lat.ttft_ms), ("tpot", lat.tpot_ms or 0.0),
                                                                    ("e2e", lat.e2e_ms)) if k in slo)
        if st.spec.neuron and res.prompt_tokens:
            rec.bucket = bucket_for(res.prompt_tokens, tuple(st.opts.prefill_buckets)) or rec.bucket  # the server's count
        if res.truth and res.truth.get("ttft_ms") is not None:
            # the simulator's wall-clock time of its first write, seen from our send time: the error left is ours
            first_write = res.truth["recv_wall"] + res.truth["ttft_ms"] / 1e3
            rec.truth_ttft_ms = round((first_write - t_send) * 1e3, 3)
            rec.ttft_err_ms = round(lat.ttft_ms - rec.truth_ttft_ms, 3)
            emit = res.truth.get("emit_ms", [])
            if len(emit) == len(res.chunk_ts):
                errs = [lat.itl_chunk_ms[i - 1] - (emit[i] - emit[i - 1]) for i in range(1, len(emit))]
                rec.extra["itl_errs"] = errs
                if errs:
                    rec.itl_err_p99_ms = round(sorted(abs(e) for e in errs)[int(0.99 * (len(errs) - 1))], 3)
        itl_token, itl_chunk = lat.itl_token_ms, lat.itl_chunk_ms
    record = rec.to_dict()
    record["ok"] = rec.ok
    events.request.fire(request_type="SSE" if not out.warmup else "WARMUP", name=req.workload,
                        response_time=rec.e2e_ms or 0.0, response_length=out.body_len,
                        exception=exc, context={"llm_record": record, "itl_token": itl_token, "itl_chunk": itl_chunk})
    if exc is None:
        st.ok_count += 1
        st.fatal_streak.clear()
    elif st.ok_count == 0 and exc.kind in _FATAL_AT_START:
        st.fatal_streak[exc.kind] += 1
        if st.fatal_streak[exc.kind] >= 3:
            st.abort(f"the first requests all failed: {exc}")
    return record


class Accountant:
    """Accounts finished requests while the worker has nothing to read.

    Accounting one request costs as much as reading a hundred events. Done inline, requests that end
    together (users started together stay in step) hold every socket back for tens of ms; events
    that queue meanwhile are merged by the kernel under one receive timestamp, and every TTFT and
    ITL of that moment is wrong. Here it waits for an idle event loop, so reads always go first;
    past `backlog` waiting requests (a saturated worker is never idle) it accounts without waiting.
    """

    def __init__(self, st: _State, backlog: int = 256) -> None:
        self.st = st
        self.backlog = backlog
        self.queue: deque[Outcome] = deque()
        self.wakeup = Event()
        self.greenlet: gevent.Greenlet | None = None

    def submit(self, out: Outcome) -> None:
        self.queue.append(out)
        if self.greenlet is None or self.greenlet.dead:
            self.greenlet = gevent.spawn(self._run)
        self.wakeup.set()

    def drain(self) -> None:
        """Account everything waiting now (before a report is sent or written)."""
        while self.queue:
            account(self.st, self.queue.popleft())

    def _run(self) -> None:
        queue = self.queue
        while True:
            if not queue:
                self.wakeup.clear()
                self.wakeup.wait()
                continue
            if len(queue) < self.backlog:
                gevent.idle()
            if queue:
                account(self.st, queue.popleft())


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

    def on_start(self) -> None:
        st = _st()
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
        except StreamError:
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
        st = _st()
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
        stage = slot.stage if slot else (stage_of(time.time(), st.epoch, st.stages) if len(st.stages) > 1 else None)
        out = stream_once(st, self.conn, req, t_intended=slot.t_intended if slot else None, stage=stage, body=body)
        if out.exc is None:
            st.accountant.submit(out)
        else:
            account(st, out)  # at once: the first failures decide whether the run ends early
            gevent.sleep(0)  # a refused connection fails without blocking; let the rest of the worker run
        lag = None if slot is None else (out.t_send - slot.t_intended) * 1e3
        if lag is not None and lag > st.opts.lag_budget_ms and time.time() - st.last_lag_warning > 5:
            st.last_lag_warning = time.time()
            log.warning("open-loop schedule running %.1f ms behind (budget %g ms): the users are all busy or the worker is "
                        "saturated; add users (-u) or workers (--processes)", lag, st.opts.lag_budget_ms)


# ---- lifecycle --------------------------------------------------------------------------------

def _start_simulator(st: _State) -> str:
    o = st.opts
    cmd = [sys.executable, "-m", "loadtests.sim", "--profile", o.sim_profile, "--port", "0", "--seed", str(o.seed)]
    if o.sim_fault_rate:
        cmd += ["--fault-rate", o.sim_fault_rate]
    if o.sim_cpu is not None:
        cmd += ["--cpu", str(o.sim_cpu)]
    cmd += shlex.split(o.sim_args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with gevent.Timeout(20, False):
        line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        proc.kill()
        err = proc.stderr.read()[-800:] if proc.stderr else ""  # type: ignore[union-attr]
        raise SystemExit(f"the embedded simulator did not start ({' '.join(cmd)}): {line.strip()} {err.strip()}")
    st.sim = proc
    url = st.sim_url = line.split()[2]
    log.info("no --host given: started the embedded simulator (%s profile) at %s", o.sim_profile, url)
    return url


def _stop_simulator(st: _State) -> None:
    if st.sim is not None and st.sim.poll() is None:
        st.sim.terminate()
        try:
            st.sim.wait(5)
        except subprocess.TimeoutExpired:
            st.sim.kill()
    st.sim = None


def _discover_model(st: _State) -> str:
    conn = Connection(st.target(), st.opts.connect_timeout_s, 10.0)
    try:
        _, resp = conn.request("GET", "/v1/models")
        raw = resp.read_all()
        if resp.status != 200:
            raise StreamError("http_4xx", f"GET /v1/models answered HTTP {resp.status}: {raw[:200]!r}")
        try:
            models = [m["id"] for m in json.loads(raw)["data"]]
        except (ValueError, KeyError, TypeError):
            raise StreamError("protocol", f"GET /v1/models is not an OpenAI model list: {raw[:200]!r}") from None
        if not models:
            raise StreamError("protocol", "GET /v1/models lists no model; give --model")
        return models[0]
    finally:
        conn.close()


def _worker_setup(st: _State) -> None:
    o = st.opts
    st.epoch = float(getattr(o, "llm_epoch", 0) or time.time())
    st.worker_count = int(getattr(o, "llm_workers", 1) or 1)
    runner = st.env.runner
    st.worker_index = runner.worker_index if st.is_worker else 0
    if st.worker_index >= st.worker_count:  # a worker that joined after the start: give it no share
        log.warning("worker index %d outside the %d workers counted at start: it sends nothing", st.worker_index, st.worker_count)
    mix = o.workload_mix
    st.wl_names, st.wl_weights = list(mix), list(mix.values())
    st.cfg = WorkloadConfig(model=o.model, prompt_tokens=o.prompt_tokens, long_prompt_tokens=o.long_prompt_tokens,
                            output_tokens=o.output_tokens,
                            wire=WireOptions(continuous_usage=st.spec.continuous_usage, token_ids=o.token_ids == "on"))
    st.schedule = None
    st.idle = st.mode != "closed" and st.worker_index >= st.worker_count
    if st.mode != "closed" and not st.idle:
        st.schedule = ArrivalSchedule(st.mode, st.stages, st.epoch, st.worker_index, st.worker_count, seed=o.seed)
    st.ready.set()


def _controller(st: _State) -> None:
    """Steps through the sweep stages (user counts for a closed-loop sweep), then ends the run."""
    runner = st.env.runner
    end = st.epoch
    for i, stage in enumerate(st.stages):
        if stage.users:
            runner.start(stage.users, spawn_rate=max(stage.users, 1) * 10)
        end += stage.duration_s
        log.info("sweep stage %d/%d: %s for %g s", i + 1, len(st.stages),
                 f"{stage.users} users" if stage.users else f"{stage.rate:g} requests/s", stage.duration_s)
        gevent.sleep(max(0.0, end - time.time()))
    # let requests sent in the last stage finish, or the last stage would look slower than it was
    drain_until = time.time() + min(st.opts.stall_timeout_s, 10.0)
    while time.time() < drain_until and (st.is_master or st.inflight > 0):
        gevent.sleep(0.05)
    log.info("sweep finished: stopping the run")
    gevent.spawn(runner.quit if st.opts.headless else runner.stop)


def _quiet_garbage_collector() -> None:
    """Keep collections rare and short while measuring.

    A collection holds the event loop, which delays due arrivals (send lag) and, past one ITL,
    merges events under one kernel timestamp. Measured at 800 users and 1000 requests/s: Locust's
    startup objects made a full collection 50-75 ms; each young one took up to 12 ms, since it walks
    every suspended user's frames, 100 times in 40 s (send lag p99 6.3 ms). Frozen objects are never
    walked again, and a young collection every 10,000 net allocations instead of 700 leaves three
    in 40 s (send lag p99 2.4 ms); what the run allocates is still collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def install(spec: ScenarioSpec, warmup: Any = None) -> type[LLMUser]:
    """Register the scenario's options and event hooks; the locustfile subclasses the returned user class.

    `warmup(state, connection)` (neuron.py) runs once in the master or local process before measuring.
    """
    global STATE
    st = STATE = _State(spec)

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
            st.mode, st.stages = stages_of(o, spec)
        except ValueError as exc:
            raise SystemExit(f"load test options: {exc}") from None
        if isinstance(environment.runner, WorkerRunner):
            return
        if not environment.host:
            environment.host = _start_simulator(st)
            if not o.model:
                o.model = "sim-model"
        else:
            try:
                Target.parse(environment.host)
            except ValueError as exc:
                raise SystemExit(str(exc)) from None
        if isinstance(environment.runner, MasterRunner):
            environment.runner.register_message("llm_abort", lambda environment, msg, **kw: st.abort(msg.data["reason"]))
        if not o.model:
            try:
                o.model = _discover_model(st)
            except StreamError as exc:
                raise SystemExit(f"cannot find the model to test at {environment.host} ({exc}); give --model") from None
            log.info("--model not given: using %r from GET /v1/models", o.model)
        if warmup is not None:
            # before Locust starts its clock, so that -t measures the steady state only
            _worker_setup(st)
            warmup(st)

    @events.test_start.add_listener
    def on_test_start(environment: Any, **_kw: Any) -> None:
        _quiet_garbage_collector()
        if not st.is_worker:
            _master_setup(st, warmup)
        if not st.is_master:
            _worker_setup(st)
        if not st.is_worker and len(st.stages) > 1:
            gevent.spawn(_controller, st)

    @events.spawning_complete.add_listener
    def on_spawning_complete(**_kw: Any) -> None:
        gc.freeze()  # the users just made live as long as the run

    @events.test_stop.add_listener
    def on_test_stop(environment: Any, **_kw: Any) -> None:
        # a local run stopped from the web UI gets its report now (headless runs report when quitting,
        # and a master waits for its workers' last figures, which arrive with their quit message)
        if not st.is_worker and not st.is_master and not st.opts.headless and st.run is not None and not st.finished:
            _finish(st)

    @events.request.add_listener
    def on_request(context: dict[str, Any] | None = None, **_kw: Any) -> None:
        if context and "llm_record" in context:
            st.ingest(context["llm_record"], context["itl_token"], context["itl_chunk"])

    @events.report_to_master.add_listener
    def on_report(client_id: str, data: dict[str, Any]) -> None:
        st.accountant.drain()
        data[_REPORT_KEY] = {"hists": st.hists.encode(), "records": st.pending}
        st.hists = HistogramSet()
        st.pending = []

    @events.worker_report.add_listener
    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        payload = data.get(_REPORT_KEY)
        if not payload or st.run is None:
            return
        st.run.hists.add_encoded(payload["hists"])
        for rec in payload["records"]:
            st.add_record(rec)

    @events.quitting.add_listener
    def on_quitting(environment: Any, **_kw: Any) -> None:
        try:
            if not st.is_worker and not st.is_master:
                environment.runner.stop()  # Ctrl-C or SIGTERM: end the users before the simulator goes away
            if not st.is_worker and st.run is not None and not st.finished:
                _finish(st)
        finally:
            _stop_simulator(st)

    return LLMUser


def _master_setup(st: _State, warmup: Any) -> None:
    o = st.opts
    if not st.env.host:  # the web UI's host field was cleared: the simulator is the target again
        st.env.host = st.sim_url or _start_simulator(st)
    try:
        Target.parse(st.env.host)
    except ValueError as exc:
        st.abort(str(exc))
    if not st.finished and st.run is not None:
        _finish(st)  # a new run from the web UI: report the previous one first
    st.finished = False
    st.hists = HistogramSet()
    st.pending = []
    run_name = o.run_name or f"{st.spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    st.outdir = Path(o.report_dir) / run_name
    st.outdir.mkdir(parents=True, exist_ok=True)
    st.run = RunData(scenario=st.spec.name, target=st.env.host, mode=st.mode, stages=st.stages, slo=st.slo,
                     slo_percentile=o.slo_percentile, max_error_rate=o.max_error_rate, lag_budget_ms=o.lag_budget_ms,
                     hists=st.hists if not st.is_master else HistogramSet())
    if st.records_fh is not None:
        st.records_fh.close()
    st.records_fh = (st.outdir / "records.jsonl").open("w")
    st.run.warmup = st.warmup_records
    for rec in st.warmup_records:
        st.records_fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
    workers = st.env.runner.worker_count if st.is_master else 1
    st.run.worker_count = workers
    st.epoch = time.time() + (1.0 if st.is_master else 0.5)  # users spawn and connect before the first arrival
    o.llm_epoch = st.epoch
    o.llm_workers = workers
    st.run.epoch = st.epoch


def _finish(st: _State) -> None:
    run = st.run
    assert run is not None and st.outdir is not None
    st.accountant.drain()
    st.finished = True
    if st.records_fh is not None:
        st.records_fh.close()
        st.records_fh = None
    runner = st.env.runner
    run.client_cpu_warning = bool(getattr(runner, "cpu_warning_emitted", False)
                                  or getattr(runner, "worker_cpu_warning_emitted", False))
    summary = write_report(run, st.outdir)
    lat = summary["latency_ms"]

    def fmt(metric: str) -> str:
        s = lat.get(metric) or {}
        if not s.get("count"):
            return f"{metric:<10} -"
        return f"{metric:<10} p50 {s['p50']:9.2f}  p90 {s['p90']:9.2f}  p99 {s['p99']:9.2f}  max {s['max']:9.2f} ms  (n={s['count']})"

    lines = [f"LLM load test {summary['scenario']} -> {summary['target']} [{summary['mode']}, {summary['workers']} worker(s)]",
             f"requests {summary['requests']} ok {summary['ok']} failed {summary['failed']} in {summary['duration_s']} s: "
             f"{summary['request_rps']} req/s, {summary['output_tokens_per_s']} output tok/s"
             + (f", goodput {summary['goodput_rps']} req/s" if summary.get("goodput_rps") is not None else "")]
    lines += [fmt(m) for m in ("ttft", "tpot", "itl_token", "itl_chunk", "e2e", "send_lag", "intended_e2e")]
    if summary["errors_by_kind"]:
        lines.append(f"errors by kind: {summary['errors_by_kind']}")
    for wl, v in summary["validity"].items():
        lines.append(f"valid {wl}: {v['valid']}/{v['checked']} ({v['valid_rate']:.1%})")
    if "sweep" in summary:
        lines.append(f"sweep: max {summary['sweep']['by']} meeting the SLOs = {summary['sweep']['max_meeting_slo']}")
    if "accuracy_vs_simulator_ms" in summary:
        acc = summary["accuracy_vs_simulator_ms"]
        lines.append("timing error vs simulator: TTFT p50 %.3f p99 %.3f ms; ITL p50 %.3f p99 %.3f ms" % (
            acc["ttft_abs_err"].get("p50", float("nan")), acc["ttft_abs_err"].get("p99", float("nan")),
            acc["itl_abs_err"].get("p50", float("nan")), acc["itl_abs_err"].get("p99", float("nan"))))
    if run.client_cpu_warning:
        lines.append("WARNING: a load-generator process went above 90% CPU, which inflates every latency above; "
                     "add workers (--processes N) or lower -u")
    lines.append(("PASSED" if summary["passed"] else "FAILED: " + "; ".join(summary["failures"])))
    lines.append(f"report: {st.outdir}/report.html (summary.json, summary.csv, records.jsonl)")
    print("\n".join(lines), flush=True)
    st.env.process_exit_code = 0 if summary["passed"] else 1
