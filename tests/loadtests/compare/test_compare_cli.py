"""`python -m loadtests.compare` on records written here: the verdicts, the gate's exit codes, unreadable runs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.compare import compare, gate_failures, load_run, parse_gate

from ..conftest import ROOT


def _write_run(folder: Path, *, itl: float = 10.0, n: int = 400, seed: int = 1, fail_every: int = 0,
               slo: dict[str, float] | None = None, api: str | None = None) -> Path:
    """A run of `n` requests sent at 40 req/s with the simulator's jitter: TTFT 50 ms, 16 tokens at `itl` ms;
    every `fail_every`-th request fails."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    lines = []
    for i in range(n):
        t_send = 1000.0 + i / 40.0
        ttft = 50.0 + rng.gauss(0, 2)
        gap = itl + rng.gauss(0, 1)
        e2e = ttft + 15 * gap
        ok = not fail_every or i % fail_every
        rec = {"workload": "chat", "ok": ok, "t_send": t_send, "t_end": t_send + e2e / 1e3, "worker": 0}
        if ok:
            rec.update(ttft_ms=ttft, e2e_ms=e2e, tpot_ms=gap, itl_chunk_p50_ms=gap, chunks=16, output_tokens=16,
                       slo_ok=ttft < 60)
        else:
            rec.update(error_kind="http_5xx", error="boom")
        lines.append(json.dumps(rec))
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "summary.json").write_text(json.dumps({"slo": slo or {}, **({"api": api} if api else {})}))
    return folder


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtests.compare", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _verdicts(a: Path, b: Path) -> dict[str, str]:
    return {d.metric.name: d.verdict for d in compare(load_run(str(a)), load_run(str(b)), resamples=300)}


def test_two_draws_of_one_server_are_within_noise_and_a_slower_itl_is_worse(tmp_path):
    a = _write_run(tmp_path / "a", seed=1, slo={"ttft": 60})
    same = _write_run(tmp_path / "same", seed=2, slo={"ttft": 60})
    slow = _write_run(tmp_path / "slow", seed=3, itl=12.0, slo={"ttft": 60})
    assert set(_verdicts(a, same).values()) == {"within noise"}
    verdicts = _verdicts(a, slow)
    assert {verdicts[f"{m}_p{p}"] for m in ("itl", "tpot", "e2e") for p in (50, 90, 99)} == {"worse"}
    assert {verdicts[m] for m in ("ttft_p50", "throughput", "goodput", "error_rate")} == {"within noise"}


def test_the_gate_fails_only_beyond_its_threshold_and_noise(tmp_path):
    a = _write_run(tmp_path / "a", seed=1)
    slow = _write_run(tmp_path / "slow", seed=3, itl=12.0)
    diffs = compare(load_run(str(a)), load_run(str(slow)), resamples=300)
    assert gate_failures(diffs, [parse_gate("itl_p50:10%")])
    assert not gate_failures(diffs, [parse_gate("itl_p50:30")])
    assert not gate_failures(diffs, [parse_gate("ttft")])  # unchanged: no regression whatever the threshold
    page = tmp_path / "page.html"
    proc = _cli(str(a), str(slow), "--fail-on", "itl:15", "--resamples", "200", "--html", str(page))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REGRESSED: itl_p50 worse by" in proc.stdout and "200 resamples, seed 0" in proc.stdout
    html = page.read_text()
    assert "<svg" in html and "worse" in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    proc = _cli(str(a), str(slow), "--fail-on", "ttft", "--resamples", "200", "--html", str(page))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_error_rate_is_compared_in_points(tmp_path):
    a = _write_run(tmp_path / "a", seed=1)
    broken = _write_run(tmp_path / "broken", seed=2, fail_every=10)
    diff = {d.metric.name: d for d in compare(load_run(str(a)), load_run(str(broken / "records.jsonl")), resamples=300)}
    assert diff["error_rate"].verdict == "worse" and diff["error_rate"].change == pytest.approx(10.0)
    assert "nonconformance_rate" not in diff and "goodput" not in diff  # the records have neither


def test_nonconformance_is_compared_when_the_records_have_it(tmp_path):
    a = _write_run(tmp_path / "a", seed=1)
    b = _write_run(tmp_path / "b", seed=2)
    for run, broken_every in ((a, 0), (b, 10)):  # every other stream checked (a sample); of those, one in 5 broken in B
        lines = (run / "records.jsonl").read_text().splitlines()
        for i in range(0, len(lines), 2):
            rec = json.loads(lines[i])
            rec["conformance_checked"] = True
            if broken_every and i % broken_every == 0:
                rec.update(ok=False, error_kind="nonconformant", nonconformant=["tool_call_json"], error="arguments not JSON")
            lines[i] = json.dumps(rec)
        (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    diff = {d.metric.name: d for d in compare(load_run(str(a)), load_run(str(b)), resamples=300)}
    assert diff["nonconformance_rate"].a == 0 and diff["nonconformance_rate"].b == pytest.approx(0.2)
    assert diff["nonconformance_rate"].verdict == "worse" and diff["nonconformance_rate"].change == pytest.approx(20.0)


@pytest.mark.parametrize("breakage, message", [
    (None, "no such file or folder"),
    ("", "no measured request"),
    ('{"ok": true}\n', "records.jsonl:1: not a load-test record"),
    ("not json\n", "records.jsonl:1: not a load-test record"),
])
def test_an_unreadable_run_exits_2_naming_the_file(tmp_path, breakage, message):
    good = _write_run(tmp_path / "good")
    bad = tmp_path / "bad"
    if breakage is not None:
        bad.mkdir()
        (bad / "records.jsonl").write_text(breakage)
    proc = _cli(str(good), str(bad))
    assert proc.returncode == 2 and message in proc.stderr and str(bad) in proc.stderr, proc.stderr


def test_a_bad_gate_is_refused_with_the_metrics_listed(tmp_path):
    good = _write_run(tmp_path / "good")
    proc = _cli(str(good), str(good), "--fail-on", "latency")
    assert proc.returncode == 2 and "unknown metric 'latency'" in proc.stderr and "itl_p99" in proc.stderr
    proc = _cli(str(good), str(good), "--fail-on", "ttft:ten")
    assert proc.returncode == 2 and "e.g. ttft:10%" in proc.stderr


def test_runs_of_two_apis_are_compared_with_the_change_of_api_said(tmp_path):
    chat = _write_run(tmp_path / "chat", seed=1)
    responses = _write_run(tmp_path / "responses", seed=2, api="responses")
    done = _cli(str(chat), str(responses))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "A spoke --api chat, B --api responses: every difference includes the change of API" in done.stdout
    assert "--api" not in _cli(str(chat), str(_write_run(tmp_path / "chat2", seed=2, api="chat"))).stdout
