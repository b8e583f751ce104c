"""Real Locust runs (subprocesses) against the embedded simulator: the numbers, the gates and the bad inputs."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from ..conftest import LOCUST, ROOT, run_locust


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_closed_loop_matches_the_simulators_ground_truth(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "8", "-r", "8", "-t", "5s", "--sim-args",
                     "--ttft-ms 50 --itl-ms 10 --tokens-per-chunk 2", "--workload-mix", "chat=4,tool=1,json=1,multiturn=1")
    assert run.returncode == 0, run.output[-3000:]
    s = run.summary
    assert s["passed"] and s["failed"] == 0 and s["ok"] >= 20
    lat = s["latency_ms"]
    assert 49.0 <= lat["ttft"]["p50"] <= 60.0
    # two tokens per message: per-token ITL is the decode time, per-chunk ITL twice that
    assert 9.0 <= lat["itl_token"]["p50"] <= 12.5
    assert 18.0 <= lat["itl_chunk"]["p50"] <= 25.0
    assert 9.0 <= lat["tpot"]["p50"] <= 12.5
    acc = s["accuracy_vs_simulator_ms"]
    assert acc["ttft_abs_err"]["p50"] < 1.0 and acc["itl_abs_err"]["p50"] < 1.0
    assert s["validity"]["tool"]["valid_rate"] == 1.0 and s["validity"]["json"]["valid_rate"] == 1.0
    assert s["token_sources"] == {"token_ids": s["ok"]}
    chat = [r for r in run.records if r["workload"] == "chat"]
    assert chat and all(r["output_tokens"] == 64 and r["prompt_tokens"] > 64 for r in chat)
    for name in ("report.html", "summary.csv", "records.jsonl"):
        assert (run.outdir / name).stat().st_size > 200
    html = (run.outdir / "report.html").read_text()
    assert html.count("<svg") >= 3 and "PASSED" in html
    assert "LLM load test vllm" in run.output and "timing error vs simulator" in run.output


def test_missed_slo_fails_the_run(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "3s", "--slo-ttft-ms", "5", "--slo-tpot-ms", "1000")
    assert run.returncode == 1
    assert any("SLO missed: ttft p99" in f for f in run.summary["failures"])
    assert run.summary["goodput_rps"] == 0.0
    assert "FAILED: SLO missed: ttft" in run.output


def test_bad_slo_value_is_refused_with_the_flag_named(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "1", "-t", "3s", "--slo-ttft-ms", "-3", timeout=30)
    assert run.returncode == 2
    assert "--slo-ttft-ms must be a positive number of milliseconds, got '-3'" in run.output


def test_refused_host_ends_the_run_early_with_a_clear_message(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "60s", "--host", f"http://127.0.0.1:{_free_port()}",
                     "--model", "m")
    assert run.returncode == 1
    assert time.monotonic() - start < 30
    assert "connection refused" in run.output and "is the server running?" in run.output
    assert run.summary["errors_by_kind"].get("connect_refused", 0) >= 3 and run.summary["ok"] == 0


def test_html_answers_end_the_run_as_not_sse(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "60s", "--sim-fault-rate", "html=1", timeout=40)
    assert run.returncode == 1
    assert "expected a text/event-stream body, got 'text/html'" in run.output
    assert set(run.summary["errors_by_kind"]) == {"not_sse"}


def test_faults_are_counted_by_kind_and_kept_out_of_latency(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "8", "-r", "8", "-t", "5s", "--sim-fault-rate", "429=0.2,503=0.1,drop=0.1,stall=0.05",
                     "--stall-timeout-s", "1", "--max-error-rate", "0.8", "--workload-mix", "chat=1")
    s = run.summary
    assert run.returncode == 0, run.output[-2000:]
    assert {"rate_limited", "unavailable", "dropped", "stall"} <= set(s["errors_by_kind"])
    assert s["latency_ms"]["ttft"]["count"] == s["ok"] and s["latency_ms"]["e2e"]["count"] == s["ok"]
    assert s["latency_ms"]["ttft"]["max"] < 200  # a stalled or failed request never lands in TTFT
    assert sum(s["errors_by_kind"].values()) == s["failed"]


# The lag budgets below are wide (2 s): on a busy machine the client is late to its own schedule, and the run
# rightly says so (test_an_unkeepable_schedule_fails_loudly); these tests are about the schedule and merging.
def test_open_loop_keeps_the_schedule_and_reports_lag(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "30", "-r", "30", "-t", "5s", "--arrival", "constant", "--rate", "20",
                     "--workload-mix", "chat=1", "--lag-budget-ms", "2000")
    s = run.summary
    assert run.returncode == 0, run.output[-2000:]
    assert s["send_lag_ms"]["count"] == s["requests"] and s["intended_e2e_ms"]["count"] == s["ok"]
    assert 60 <= s["requests"] <= 105  # about 20 req/s over the run
    gaps = sorted(r["t_intended"] for r in run.records)
    assert all(abs((b - a) - 0.05) < 1e-6 for a, b in zip(gaps, gaps[1:]))


def test_an_unkeepable_schedule_fails_loudly(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "4s", "--arrival", "poisson", "--rate", "100",
                     "--workload-mix", "chat=1", "--lag-budget-ms", "20")
    assert run.returncode == 1
    assert any("send lag p99" in f and "could not keep the schedule" in f for f in run.summary["failures"])
    assert "open-loop schedule running" in run.output  # the warning during the run


def test_rate_sweep_finds_the_max_rate_meeting_slos(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-u", "40", "-r", "40", "-t", "60s", "--arrival", "constant", "--sweep-rates", "4,8",
                     "--stage-s", "2.5", "--slo-ttft-ms", "500", "--slo-tpot-ms", "50", "--workload-mix", "chat=1",
                     "--lag-budget-ms", "300", timeout=60)
    assert time.monotonic() - start < 30  # the sweep ends the run by itself
    s = run.summary
    assert [st["offered_rate"] for st in s["stages"]] == [4.0, 8.0]
    assert s["sweep"]["max_meeting_slo"] == 8.0
    assert run.returncode == 0, run.output[-2000:]


def test_distributed_processes_merge_both_workers(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "30", "-r", "30", "-t", "5s", "--processes", "2", "--arrival", "poisson",
                     "--rate", "10", "--workload-mix", "chat=1", "--lag-budget-ms", "2000", timeout=60)
    assert run.returncode == 0, run.output[-2000:]
    s = run.summary
    assert s["workers"] == 2 and {r["worker"] for r in run.records} == {0, 1}
    assert s["latency_ms"]["ttft"]["count"] == s["ok"] == len([r for r in run.records if r["ok"]])


def test_neuron_warms_every_bucket_and_reports_first_hits(tmp_path):
    run = run_locust("neuron", tmp_path, "-u", "4", "-r", "4", "-t", "8s", "--prefill-buckets", "128,256,512",
                     "--batch-buckets", "1,2,4", "--max-num-seqs", "4", "--long-prompt-tokens", "400",
                     "--sim-args", "--max-num-seqs 4 --first-hit-ms 200", timeout=60)
    assert run.returncode == 0, run.output[-2000:]
    warm = run.summary["warmup"]
    for bucket in ("128", "256", "512"):
        entry = warm["prefill_buckets"][bucket]
        assert entry["first_hit_ttft_ms"] - entry["warm_ttft_ms"] > 150, (bucket, entry)
    for batch in ("2", "4"):
        assert warm["batch_sizes"][batch]["first_hit_ttft_ms"] - warm["batch_sizes"][batch]["warm_ttft_ms"] > 150
    steady = [r for r in run.records if r["ok"]]
    assert steady and all(r["prompt_tokens"] + r["output_tokens"] <= 2048 for r in steady)
    assert {r["bucket"] for r in steady} <= {128, 256, 512}


def test_neuron_concurrency_sweep_along_batch_buckets(tmp_path):
    run = run_locust("neuron", tmp_path, "-t", "60s", "--warmup", "off", "--sweep-users", "auto", "--batch-buckets", "1,2,4",
                     "--max-num-seqs", "4", "--stage-s", "2", "--workload-mix", "chat=1", "--slo-ttft-ms", "1000",
                     "--sim-args", "--max-num-seqs 4", timeout=60)
    assert run.returncode == 0, run.output[-2000:]
    stages = run.summary["stages"]
    assert [st["users"] for st in stages] == [1, 2, 4]
    assert stages[0]["achieved_rps"] < stages[2]["achieved_rps"]
    assert run.summary["sweep"]["max_meeting_slo"] == 4


def test_llamacpp_slots_queue_above_four_streams(tmp_path):
    run = run_locust("llamacpp", tmp_path, "-u", "8", "-r", "8", "-t", "5s", "--workload-mix", "chat=1")
    assert run.returncode == 0, run.output[-2000:]
    s = run.summary
    # 8 users on 4 slots: half of the requests wait for a whole response before their prefill
    assert s["latency_ms"]["ttft"]["p90"] > 300 and s["latency_ms"]["ttft"]["p50"] > 30
    assert s["token_sources"] == {"usage": s["ok"]}


def test_run_time_ends_a_sweep_early(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-t", "3s", "--sweep-users", "1,2", "--stage-s", "30", "--workload-mix", "chat=1",
                     timeout=60)
    assert run.returncode == 0, run.output[-2000:]
    assert time.monotonic() - start < 25  # not the 60 s of the two stages
    stages = run.summary["stages"]
    assert [st["users"] for st in stages] == [1, 2]
    assert stages[0]["requests"] > 0 and stages[1]["requests"] == 0


SLOW_START = '''
import time
end = time.monotonic() + 3.0  # three seconds of imports, as on a busy machine (a busy wait: no event loop runs)
while time.monotonic() < end:
    pass
from loadtests.vllm import VLLMUser  # noqa: E402,F401
'''


def test_run_time_counts_from_the_start_of_the_run_after_a_slow_start(tmp_path, simulator):
    # Locust arms -t on the event loop's cached clock; after a slow start it was stale by the start's length and a
    # 2 s run ended before its first request. (--host and --model: nothing in the start lets the loop run.)
    url = simulator("--ttft-ms", "10", "--itl-ms", "1", "--itl-spread-ms", "0")
    locustfile = tmp_path / "slow_start.py"
    locustfile.write_text(SLOW_START)
    proc = subprocess.run([*LOCUST, "-f", str(locustfile), "--headless", "--only-summary", "-u", "2", "-r", "2", "-t", "2s",
                           "--host", url, "--model", "sim-model", "--workload-mix", "chat=1", "--output-tokens", "8",
                           "--report-dir", str(tmp_path), "--run-name", "run"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert records, proc.stdout[-2000:] + proc.stderr[-2000:]
    sends = [r["t_send"] for r in records]
    assert max(sends) - min(sends) > 1.5, f"requests sent over {max(sends) - min(sends):.2f} s of a 2 s run"
