"""`--find-max-rate` against the simulator, whose capacity follows from its settings."""

from __future__ import annotations

from ..conftest import run_locust

# The simulator serves MAX_NUM_SEQS streams at once; the rest queue. A stream takes its TTFT, then
# OUTPUT_TOKENS - 1 gaps of ITL, each slowed by the vLLM profile's batch_slowdown (0.1) times the
# share of the other slots busy ((n - 1) / n at a full batch). So at full load:
#   capacity = MAX_NUM_SEQS / (TTFT + (OUTPUT_TOKENS - 1) * ITL * (1 + 0.1 * (MAX_NUM_SEQS - 1) / MAX_NUM_SEQS))
# and above it the queue, hence TTFT, grows without bound while below it nothing waits.
MAX_NUM_SEQS, TTFT_MS, ITL_MS, OUTPUT_TOKENS, BATCH_SLOWDOWN = 4, 20.0, 10.0, 16, 0.1
SERVICE_S = (TTFT_MS + (OUTPUT_TOKENS - 1) * ITL_MS * (1 + BATCH_SLOWDOWN * (MAX_NUM_SEQS - 1) / MAX_NUM_SEQS)) / 1e3
CAPACITY = MAX_NUM_SEQS / SERVICE_S  # 22.07 requests/s


def test_the_rate_found_is_the_simulators_capacity(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "64", "-r", "64", "--workload-mix", "chat=1",
                     "--output-tokens", str(OUTPUT_TOKENS), "--arrival", "constant",
                     "--sim-args", f"--max-num-seqs {MAX_NUM_SEQS} --ttft-ms {TTFT_MS:g} --itl-ms {ITL_MS:g} --itl-spread-ms 0",
                     # a TTFT SLO 200 ms above the idle TTFT: 5 s above capacity by 5% queue about 250 ms
                     "--slo-ttft-ms", str(TTFT_MS + 200), "--find-max-rate", "--capacity-start-rate", "12",
                     "--stage-s", "5", "--capacity-precision", "0.03", timeout=180)
    assert run.returncode == 0, run.output[-3000:]
    capacity = run.summary["capacity"]
    found, above = capacity["max_rate"], capacity["lowest_failing_rate"]
    assert abs(found - CAPACITY) <= 0.1 * CAPACITY, (found, CAPACITY, capacity["probes"])
    assert above is not None and found < above <= found * 1.03
    assert capacity["stopped"] == "bracket within 3%"
    probes = capacity["probes"]
    assert 3 <= len(probes) <= 12 and probes[0]["rate"] == 12
    assert all(p["requests"] > 0 for p in probes) and not any(p["failed"] for p in probes)
    assert f"max rate meeting the SLOs: {found:.4g} requests/s" in run.output
    html = (run.outdir / "report.html").read_text()
    assert "Capacity search: goodput against offered rate" in html and "Capacity search: latency against offered rate" in html
    # one stage per probe in the records, each probe's requests sent at its own rate
    stages = {r["stage"] for r in run.records}
    assert stages == set(range(len(probes)))


def test_the_search_needs_an_slo_and_chooses_its_own_rates(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "1", "-t", "3s", "--find-max-rate", timeout=30)
    assert run.returncode == 2 and "--find-max-rate needs an SLO" in run.output
    run = run_locust("vllm", tmp_path, "-u", "1", "-t", "3s", "--find-max-rate", "--slo-ttft-ms", "100",
                     "--arrival", "constant", "--sweep-rates", "2,4", timeout=30)
    assert run.returncode == 2 and "--find-max-rate chooses its own rates" in run.output
