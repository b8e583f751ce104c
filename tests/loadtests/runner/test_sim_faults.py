"""Each fault the simulator injects on demand is counted as its own kind, fails a run at 10% and passes it at 2%."""

from __future__ import annotations

import time

import pytest

from ..conftest import run_locust

# short answers and one second of stall timeout: a few hundred requests in a 3 s run
_FAST = ("-u", "8", "-r", "8", "-t", "3s", "--workload-mix", "chat=1", "--output-tokens", "8", "--stall-timeout-s", "1",
         "--max-error-rate", "0.05", "--sim-args", "--itl-ms 2 --stall-s 5")
_COUNTED_AS = {"slow_headers": "stall", "stall": "stall", "drop": "dropped", "pings": "stall", "empty_choices": "stall",
               "bad_utf8": "decode", "garbage_json": "malformed_json", "oversize": "oversize"}


@pytest.mark.parametrize("fault", sorted(_COUNTED_AS))
def test_a_fault_at_10_percent_fails_the_run_counted_as_its_kind(tmp_path, fault):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, *_FAST, "--sim-fault-rate", f"{fault}=0.1", timeout=40)
    s = run.summary
    assert run.returncode == 1 and "error rate" in str(s["failures"]), run.output[-2000:]
    assert set(s["errors_by_kind"]) == {_COUNTED_AS[fault]} and s["requests"] > 100
    assert 0.06 <= s["error_rate"] <= 0.15
    assert time.monotonic() - start < 3 + 1 + 1 + 8  # -t, the stall timeout, the stop grace, Locust's start and stop


def test_every_fault_together_at_2_percent_passes(tmp_path):
    each = 0.02 / len(_COUNTED_AS)
    run = run_locust("vllm", tmp_path, *_FAST, "--sim-fault-rate", ",".join(f"{f}={each}" for f in _COUNTED_AS), timeout=40)
    assert run.returncode == 0, run.output[-2000:]
    assert run.summary["error_rate"] < 0.05
