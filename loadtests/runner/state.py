"""What one Locust process knows about its run: options, stages, schedule, histograms, records, report files.

One `RunState` per scenario, made by `listeners.install` and reached through the user class, the
shape and the event listeners registered with it; nothing here is a module global, so a process (or
a test) never has anything to reset.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import time
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from gevent.threadpool import ThreadPool
from locust.runners import MasterRunner, WorkerRunner

from conformance.wires import WireFamily

from loadtests.client.apis import APIS, Api
from loadtests.client.connection import Target
from loadtests.client.nonconformance import Sampler
from loadtests.report.console import summary_lines
from loadtests.report.files import RunData, write_report
from loadtests.report.metrics import HistogramSet
from loadtests.runner.options import ScenarioSpec
from loadtests.runner.requests import Accountant
from loadtests.runner.schedule import ArrivalSchedule, Stage
from loadtests.runner.target import start_simulator
from loadtests.runner.workloads import WireOptions, WorkloadConfig

log = logging.getLogger("loadtest")


class RunState:
    """Everything this process knows about the run."""

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
        self.pending: list[str] = []  # a worker's records.jsonl lines since its last report
        self.run: RunData | None = None  # master or local process only
        self.records_fh: Any = None
        self.outdir: Path | None = None
        self.sim: subprocess.Popen[str] | None = None
        self.sim_url = ""
        self.warmup_records: list[dict[str, Any]] = []
        self.idle = False  # a worker that joined an open-loop run after its start has no share of the schedule
        self.finished = True  # the current run's report is written
        self.inflight = 0
        self.stopping = False  # Locust began to stop the users: no new request goes out
        self.drain_asked = False  # master: the workers were asked for their last records
        self.drained_workers = 0
        self.opening: list[str | None] = []  # how this process's first requests failed (see requests._judge_opening)
        self.aborted = False
        self.last_lag_warning = 0.0
        self.ready = Event()
        self.wl_names: list[str] = []
        self.wl_weights: list[float] = []
        self.cfg: WorkloadConfig | None = None
        self.accountant = Accountant(self)
        self.sampler = Sampler(0.0)  # which streams they judge (--conformance-sample, set per run)
        self.checker = ThreadPool(1)  # where they judge them, off the event loop (requests._judge_conformance)

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

    @property
    def api(self) -> Api:
        """What the requests speak (--api; the web UI may change it between runs)."""
        return APIS[getattr(self.opts, "api", None) or "chat"]

    @property
    def wire(self) -> WireFamily:
        """What the conformance rules decode the answers as: the API's own wire."""
        return self.api.wire

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
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        if self.run is None:  # a worker: the master folds and writes its lines
            self.pending.append(line)
            return
        self.run.totals.add(rec)
        if self.records_fh is not None:
            self.records_fh.write(line)

    def take_report(self, *, final: bool = False) -> dict[str, Any]:
        """A worker's histograms and records since its last report, for the master.

        Records travel as their records.jsonl lines, encoded once where they were measured: the
        worker holds one short string per request until it reports, and the master appends the
        batch to the file as it came. `final`: the worker's users have stopped (Accountant.drain).
        """
        self.accountant.drain(final=final)
        payload = {"hists": self.hists.encode(), "records": "".join(self.pending)}
        self.hists.release()
        self.hists = HistogramSet()
        self.pending = []
        return payload

    def merge_report(self, payload: dict[str, Any] | None) -> None:
        """The master's side of `take_report`: each record folded into the totals, the batch appended in one write."""
        if not payload or self.run is None:
            return
        self.run.hists.add_encoded(payload["hists"])
        text = payload["records"]
        totals = self.run.totals
        for line in text.split("\n")[:-1]:
            totals.add(json.loads(line))
        if self.records_fh is not None:
            self.records_fh.write(text)

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

    # ---- set-up of a run ------------------------------------------------------------------
    def setup_worker(self) -> None:
        """The process that sends: its share of the schedule and the workloads it builds."""
        o = self.opts
        self.epoch = float(getattr(o, "llm_epoch", 0) or time.time())
        self.worker_count = int(getattr(o, "llm_workers", 1) or 1)
        runner = self.env.runner
        self.worker_index = runner.worker_index if self.is_worker else 0
        if self.worker_index >= self.worker_count:  # a worker that joined after the start: give it no share
            log.warning("worker index %d outside the %d workers counted at start: it sends nothing",
                        self.worker_index, self.worker_count)
        mix = o.workload_mix
        self.wl_names, self.wl_weights = list(mix), list(mix.values())
        self.cfg = WorkloadConfig(model=o.model, prompt_tokens=o.prompt_tokens, long_prompt_tokens=o.long_prompt_tokens,
                                  output_tokens=o.output_tokens, api=o.api,
                                  wire=WireOptions(continuous_usage=self.spec.continuous_usage, token_ids=o.token_ids == "on"))
        self.schedule = None
        self.opening = []
        self.sampler = Sampler(o.conformance_sample)
        self.idle = self.mode != "closed" and self.worker_index >= self.worker_count
        if self.mode != "closed" and not self.idle:
            self.schedule = ArrivalSchedule(self.mode, self.stages, self.epoch, self.worker_index, self.worker_count, seed=o.seed)
        self.ready.set()

    def setup_report(self) -> None:
        """The master or local process: a fresh RunData, the report folder, the epoch every worker starts from."""
        o = self.opts
        if not self.env.host:  # the web UI's host field was cleared: the simulator is the target again
            self.env.host = self.sim_url or start_simulator(self)
        try:
            Target.parse(self.env.host)
        except ValueError as exc:
            self.abort(str(exc))
        if not self.finished and self.run is not None:
            self.finish()  # a new run from the web UI: report the previous one first
        self.finished = False
        self.drain_asked = False
        self.hists = HistogramSet()
        self.pending = []
        run_name = o.run_name or f"{self.spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.outdir = Path(o.report_dir) / run_name
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.run = RunData(scenario=self.spec.name, target=self.env.host, api=o.api, mode=self.mode, stages=self.stages, slo=self.slo,
                           slo_percentile=o.slo_percentile, max_error_rate=o.max_error_rate, lag_budget_ms=o.lag_budget_ms,
                           conformance_sample=o.conformance_sample, hists=self.hists if not self.is_master else HistogramSet())
        if self.records_fh is not None:
            self.records_fh.close()
        self.records_fh = (self.outdir / "records.jsonl").open("w")
        self.run.warmup = self.warmup_records
        for rec in self.warmup_records:
            self.records_fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        workers = self.env.runner.worker_count if self.is_master else 1
        self.run.worker_count = workers
        self.epoch = time.time() + (1.0 if self.is_master else 0.5)  # users spawn and connect before the first arrival
        o.llm_epoch = self.epoch
        o.llm_workers = workers
        self.run.epoch = self.epoch

    def finish(self) -> None:
        """Account what is left, write the report, print the summary and set the exit code."""
        run = self.run
        assert run is not None and self.outdir is not None
        self.accountant.drain(final=True)
        self.finished = True
        if self.records_fh is not None:
            self.records_fh.close()
            self.records_fh = None
        runner = self.env.runner
        run.client_cpu_warning = bool(getattr(runner, "cpu_warning_emitted", False)
                                      or getattr(runner, "worker_cpu_warning_emitted", False))
        summary = write_report(run, self.outdir)
        print("\n".join(summary_lines(summary, run.client_cpu_warning, self.outdir)), flush=True)
        self.env.process_exit_code = 0 if summary["passed"] else 1
