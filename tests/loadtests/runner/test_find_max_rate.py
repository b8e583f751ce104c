"""`--find-max-rate` against the simulator, whose capacity follows from its settings."""

from __future__ import annotations

import time

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
                     "--stage-s", "5", "--capacity-precision", "0.03",
                     # the machine running the tests is shared: a starved client can fall 50 ms behind at 18 req/s,
                     # which says nothing of the simulator's capacity, the subject here
                     "--lag-budget-ms", "250", timeout=180)
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


def _search(**opts: float):
    """A search outside Locust: its options, and no run to publish to."""
    from types import SimpleNamespace

    from loadtests.runner.capacity import CapacitySearch

    defaults = dict(stage_s=5.0, goodput_share=0.95, lag_budget_ms=25.0, capacity_precision=0.05, capacity_max_steps=12,
                    capacity_max_time_s=600.0, find_max_rate=True)
    st = SimpleNamespace(opts=SimpleNamespace(**{**defaults, **opts}), run=None)
    search = CapacitySearch(st)  # type: ignore[arg-type]
    search.configure(st.opts)
    search.started = time.time()
    return search


def _probe(search, rate: float, *, good: int, bad: int = 0, lag_ms: float = 1.0) -> None:
    search._start_probe(rate, 0.0)
    k = len(search.probes) - 1
    for i in range(good + bad):
        search.observe({"stage": k, "ok": True, "slo_ok": i < good, "send_lag_ms": lag_ms, "ttft_ms": 50.0, "e2e_ms": 200.0})
    search._judge(search.probes[-1])


def test_a_probe_fails_below_the_goodput_share_or_over_the_lag_budget_and_the_search_bisects():
    search = _search()
    _probe(search, 10, good=95, bad=5)  # exactly the share: passes
    assert search.probes[-1].passed and search._next_rate() == 20
    _probe(search, 20, good=94, bad=6)
    assert not search.probes[-1].passed and "94.0% of requests met the SLOs (< 95%)" in search.probes[-1].reason
    assert search._next_rate() == 15
    _probe(search, 15, good=100, lag_ms=40.0)  # every request good, but sent late: the client was the limit
    # 40 ms read back from the lag histogram (about 1% precision)
    assert not search.probes[-1].passed and "send lag p99 40.2 ms over the 25 ms budget" in search.probes[-1].reason
    assert search.bracket() == (10, 15) and search._next_rate() == 12.5
    _probe(search, 12.5, good=50)
    _probe(search, 13.75, good=50)
    _probe(search, 14.375, good=50)
    assert search._next_rate() is None and search.stopped == "bracket within 5%"
    assert search.result()["max_rate"] == 14.375 and search.result()["lowest_failing_rate"] == 15


def test_a_failing_start_rate_halves_until_a_probe_passes_and_the_steps_are_bounded():
    search = _search(capacity_max_steps=3)
    _probe(search, 8, good=0, bad=10)
    assert search._next_rate() == 4
    _probe(search, 4, good=0, bad=10)
    _probe(search, 2, good=10)
    assert search._next_rate() is None and search.stopped == "step limit (3 probes)"
    assert search.bracket() == (2, 4)
