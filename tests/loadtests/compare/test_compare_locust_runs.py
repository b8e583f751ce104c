"""`loadtests.compare` on real Locust runs against the embedded simulator.

The runs of a pair go at the same time, so the load other processes put on the machine falls on
both alike: run one after the other, a busy minute between them differs more than a 20% slower ITL.
Open loop at one constant rate, so throughput is the schedule's in both and not a second reading
of the latency.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loadtests.compare.stats import BETTER, LATENCIES, NO_DATA, NOISE, TOO_FEW, WORSE, every_metric_name

from ..conftest import ROOT, LocustRun, run_locust

_ARGS = ("-u", "16", "-r", "16", "-t", "8s", "--workload-mix", "chat=1", "--output-tokens", "12",
         "--arrival", "constant", "--rate", "12", "--slo-ttft-ms", "500")


def _runs(tmp_path: Path, itl_by_name: dict[str, float]) -> dict[str, LocustRun]:
    def one(name: str) -> LocustRun:
        return run_locust("vllm", tmp_path / name, *_ARGS, "--sim-args", f"--ttft-ms 30 --itl-ms {itl_by_name[name]:g} --itl-spread-ms 2",
                          timeout=90)
    with ThreadPoolExecutor(len(itl_by_name)) as pool:
        runs = dict(zip(itl_by_name, pool.map(one, itl_by_name)))
    for name, run in runs.items():
        # the runs' own verdicts are not the subject (a busy machine can miss the send-lag budget): their records are
        assert run.summary is not None and run.summary["ok"] >= 60 and not run.summary["failed"], (name, run.output[-2000:])
    return runs


def _compare(a: LocustRun, b: LocustRun) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtests.compare", str(a.outdir), str(b.outdir), "--resamples", "500"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


VERDICTS = (BETTER, WORSE, NOISE, NO_DATA, TOO_FEW)


def _verdicts(output: str) -> dict[str, str]:
    """The table's rows, between its rule and the line saying how the intervals were made."""
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    last = next(i for i, line in enumerate(lines) if line.startswith("intervals:"))
    rows = {}
    for line in lines[first:last]:
        rows[line.split()[0]] = next(v for v in VERDICTS if line.rstrip().endswith(v))
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocustRun]:
    return _runs(tmp_path_factory.mktemp("compare"), {"base": 25.0, "again": 25.0, "slow": 30.0})


def test_two_runs_of_one_simulator_are_within_noise(runs):
    proc = _compare(runs["base"], runs["again"])
    verdicts = _verdicts(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Both runs have an SLO and check a sample of responses, so every metric is there: goodput and nonconformance too.
    assert set(verdicts) == set(every_metric_name()) - set(LATENCIES), proc.stdout
    # About 90 requests each: a p99 is a run's slowest request, shown but never judged (one hiccup of a busy
    # machine once read as "worse").
    p99 = {name for name in verdicts if name.endswith("_p99")}
    assert {verdicts[name] for name in p99} == {"too few requests"}, proc.stdout
    assert {verdicts[name] for name in set(verdicts) - p99} == {"within noise"}, proc.stdout


def test_a_20_percent_slower_itl_is_worse_for_itl_and_tpot_and_fails_the_gate(runs):
    proc = _compare(runs["base"], runs["slow"])
    verdicts = _verdicts(proc.stdout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {verdicts[f"{m}_p{p}"] for m in ("itl", "tpot") for p in (50, 90)} == {"worse"}, proc.stdout
    assert verdicts["throughput"] == "within noise" and verdicts["error_rate"] == "within noise"
    assert "REGRESSED: " in proc.stdout and "tpot_p50 worse by" in proc.stdout
    assert (runs["slow"].outdir / "compare.html").read_text().count("worse") >= 4
