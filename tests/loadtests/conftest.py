"""Helpers for the load-test tests: the simulator and Locust always run as subprocesses.

`import locust` monkey-patches the whole process (gevent), so nothing here imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCUST = [sys.executable, "-m", "locust"]


@dataclass
class LocustRun:
    returncode: int
    output: str
    summary: dict[str, Any] | None
    records: list[dict[str, Any]]
    outdir: Path
    exited_at: float  # time.time() when the process had exited

    @property
    def seconds_after_first_send(self) -> float:
        """From the run's first request to the process's exit: how long the run itself took to end. Locust's
        start-up (seconds of imports on a busy machine) is left out, since it says nothing about the run."""
        return self.exited_at - min(record["t_send"] for record in self.records)


def run_locust(scenario: str, report_dir: Path, *args: str, timeout: float = 60.0) -> LocustRun:
    """Run `locust -f loadtests/<scenario>.py --headless ...` to completion; the report lands in report_dir/run."""
    cmd = [*LOCUST, "-f", str(ROOT / "loadtests" / f"{scenario}.py"), "--headless", "--only-summary",
           "--report-dir", str(report_dir), "--run-name", "run", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    exited = time.time()
    outdir = report_dir / "run"
    summary_path = outdir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    records_path = outdir / "records.jsonl"
    records = [json.loads(line) for line in records_path.read_text().splitlines()] if records_path.exists() else []
    return LocustRun(proc.returncode, proc.stdout + proc.stderr, summary, records, outdir, exited)


@pytest.fixture
def simulator() -> Iterator[Any]:
    """Start simulators with chosen flags: `url = simulator("--profile", "neuron")`; all stopped at the end."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "loadtests.sim", "--port", "0", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("listening on "), f"simulator did not start: {line!r} {proc.stderr.read()}"  # type: ignore[union-attr]
        return line.split()[2]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(5)
