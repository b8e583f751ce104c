"""records.jsonl is the only place every request is kept: one line per request the summary counts, local or distributed."""

from __future__ import annotations

import pytest

from ..conftest import run_locust


@pytest.mark.parametrize("processes", [(), ("--processes", "2")], ids=["local", "two-workers"])
def test_records_file_has_one_line_per_request_counted(tmp_path, processes):
    # faults give failures of two kinds; a stop timeout of half an answer leaves some unfinished
    run = run_locust("vllm", tmp_path, *processes, "-u", "40", "-r", "40", "-t", "5s", "--workload-mix", "chat=1",
                     "--output-tokens", "200", "--sim-args", "--itl-ms 10", "--sim-fault-rate", "429=0.1,drop=0.1",
                     "--max-error-rate", "1", "--stop-timeout", "1", timeout=60)
    assert run.returncode == 0, run.output[-2000:]
    s = run.summary
    kinds = s["errors_by_kind"]
    assert {"rate_limited", "dropped", "unfinished"} <= set(kinds), kinds
    assert s["requests"] == s["ok"] + sum(kinds.values()) > 50
    assert len(run.records) == s["requests"]
    assert sum(r["ok"] for r in run.records) == s["ok"]
    assert {r["worker"] for r in run.records} == ({0, 1} if processes else {0})
