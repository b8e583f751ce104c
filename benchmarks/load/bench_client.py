"""Benchmark of the load-test client and simulator: capacity, timing accuracy, send lag, simulator throughput.

    .venv/bin/python benchmarks/load/bench_client.py            # about 6 minutes

Simulator pinned to core 0, each client to core 1 (taskset / sched_setaffinity), 64 chunks per
response, 50 ms TTFT, 10 ms ITL. Figures:
1. client capacity: SSE events/s one Locust worker of ours consumes at saturation (all metrics on),
   and the aiohttp client in the same run; also events per CPU-second (fairer on shared cores),
   and the simulator's own CPU share while it serves that load on schedule;
2. accuracy against the simulator's ground truth: |TTFT error| and |ITL error| p50/p99 at 50 and
   200 concurrent streams, ours and aiohttp's;
3. open-loop send lag p99 at the highest rate one worker sustains (a constant-rate sweep);
4. simulator events/s per CPU-second, flooded by a minimal reader far beyond one write per event
   (it then merges due chunks into one write; the share merged is printed).
Other engineers share these 2 cores: compare figures within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SERVER_CPU, CLIENT_CPU = 0, 1


def start_sim(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, "-m", "loadtests.sim", "--port", "0", "--cpu", str(SERVER_CPU), "--max-num-seqs", "100000",
                             *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        raise SystemExit(f"simulator did not start: {line} {proc.stderr.read()}")  # type: ignore[union-attr]
    return proc, line.split()[2]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(5)


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sim_counter(url: str, name: str = "sim_sse_events_total") -> int:
    import urllib.request
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


def run_locust(url: str, users: int, seconds: int, *extra: str, sim_pid: int | None = None) -> dict:
    """One headless Locust run on the client core. CPU and events are counted inside a window that
    leaves out start-up (imports cost about a CPU-second) and ramp-up; with `sim_pid`, the
    simulator's CPU and merged events in the same window too."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["taskset", "-c", str(CLIENT_CPU), PY, "-m", "locust", "-f", str(ROOT / "loadtests/vllm.py"), "--headless",
               "--only-summary", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url,
               "--workload-mix", "chat=1", "--prompt-tokens", "16", "--report-dir", tmp, "--run-name", "b", *extra]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(min(4.0, seconds / 3))
        c0, t0 = proc_cpu_s(proc.pid), time.time()
        if sim_pid:
            s0, e0, m0 = proc_cpu_s(sim_pid), sim_counter(url), sim_counter(url, "sim_sse_events_merged_total")
        samples = [(t0, c0)]  # the client's CPU over time, for per-stage shares
        window_end = t0 + max(1.0, seconds - min(4.0, seconds / 3) - 0.5)
        while time.time() < window_end:
            time.sleep(0.25)
            samples.append((time.time(), proc_cpu_s(proc.pid)))
        c1, t1 = samples[-1][1], samples[-1][0]
        if sim_pid:
            s1, e1, m1 = proc_cpu_s(sim_pid), sim_counter(url), sim_counter(url, "sim_sse_events_merged_total")
        out, err = proc.communicate(timeout=seconds + 120)
        path = Path(tmp) / "b" / "summary.json"
        if not path.exists():
            raise SystemExit(f"locust run failed ({proc.returncode}): {out[-2000:]} {err[-3000:]}")
        summary = json.loads(path.read_text())
        records = [json.loads(line) for line in (Path(tmp) / "b" / "records.jsonl").read_text().splitlines()]
    ok = [r for r in records if r["ok"]]
    # events inside the window, each request's events spread evenly over its lifetime
    events = sum(r["events"] * max(0.0, min(r["t_end"], t1) - max(r["t_send"], t0)) / max(r["t_end"] - r["t_send"], 1e-9)
                 for r in ok)
    out = {"summary": summary, "events": events, "duration_s": t1 - t0, "cpu_s": c1 - c0, "requests": len(ok),
           "failed": len(records) - len(ok), "cpu_samples": samples, "records": records}
    if sim_pid:
        out["sim"] = {"cpu_share": (s1 - s0) / (t1 - t0), "events_per_cpu_s": (e1 - e0) / max(s1 - s0, 1e-9),
                      "merged": (m1 - m0) / max(e1 - e0, 1)}
    return out


def stage_cpu_share(run: dict, stage: int) -> float | None:
    """The client's CPU share while a sweep stage was sending (its first to last intended send)."""
    times = [r["t_intended"] for r in run["records"] if r.get("stage") == stage and r.get("t_intended")]
    if not times:
        return None
    start, end = min(times), max(times)
    inside = [(t, c) for t, c in run["cpu_samples"] if start <= t <= end]
    if len(inside) < 2:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def run_aiohttp(url: str, streams: int, seconds: int) -> dict:
    out = subprocess.run([PY, str(ROOT / "benchmarks/load/aiohttp_client.py"), "--host", url, "--streams", str(streams),
                          "--seconds", str(seconds), "--cpu", str(CLIENT_CPU)], cwd=ROOT, capture_output=True, text=True,
                         timeout=seconds + 120)
    if out.returncode:
        raise SystemExit(f"aiohttp client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- a minimal reader that floods the simulator ---------------------------------------------------

class _Flood(asyncio.Protocol):
    def __init__(self, request: bytes, deadline: float) -> None:
        self.request, self.deadline, self.tail = request, deadline, b""

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-16:]
        if self.tail.endswith(b"0\r\n\r\n") and time.time() < self.deadline:
            self.tail = b""
            self.transport.write(self.request)


async def _flood(url: str, conns: int, seconds: float) -> None:
    host, port = url.split("//")[1].split(":")
    body = json.dumps({"model": "sim-model", "messages": [{"role": "user", "content": "x"}], "max_tokens": 512,
                       "stream": True}).encode()
    req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    loop = asyncio.get_running_loop()
    deadline = time.time() + seconds
    transports = [(await loop.create_connection(lambda: _Flood(req, deadline), host, int(port)))[0] for _ in range(conns)]
    await asyncio.sleep(seconds + 1)
    for t in transports:
        t.close()


def sim_capacity(seconds: float = 8.0) -> dict:
    proc, url = start_sim("--ttft-ms", "1", "--itl-ms", "1", "--itl-spread-ms", "0")
    try:
        flood = subprocess.Popen([PY, __file__, "--flood", url, "--conns", "300", "--seconds", str(int(seconds))], cwd=ROOT)
        time.sleep(2.0)
        e0, m0, c0, t0 = sim_counter(url), sim_counter(url, "sim_sse_events_merged_total"), proc_cpu_s(proc.pid), time.time()
        time.sleep(seconds - 3)
        e1, m1, c1, t1 = sim_counter(url), sim_counter(url, "sim_sse_events_merged_total"), proc_cpu_s(proc.pid), time.time()
        flood.wait(seconds + 30)
    finally:
        stop(proc)
    return {"events_per_s": (e1 - e0) / (t1 - t0), "cpu_share": (c1 - c0) / (t1 - t0),
            "events_per_cpu_s": (e1 - e0) / max(c1 - c0, 1e-9), "merged": (m1 - m0) / max(e1 - e0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=12, help="length of each client run")
    parser.add_argument("--saturation-streams", type=int, default=500)
    parser.add_argument("--flood", help=argparse.SUPPRESS)
    parser.add_argument("--conns", type=int, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        os.sched_setaffinity(0, {CLIENT_CPU})
        asyncio.run(_flood(args.flood, args.conns, args.seconds))
        return
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        raise SystemExit("this benchmark pins the simulator and the client to two different cores; this machine has one")
    print(f"[bench] simulator on core {SERVER_CPU}, client on core {CLIENT_CPU}; 64 chunks/response, TTFT 50 ms, ITL 10 ms. "
          "Other engineers share these cores: compare within this run.", flush=True)
    sim, url = start_sim("--ttft-ms", "50", "--itl-ms", "10", "--itl-spread-ms", "1")
    try:
        n = args.saturation_streams
        ours = run_locust(url, n, args.seconds, sim_pid=sim.pid)
        theirs = run_aiohttp(url, n, args.seconds)
        print(f"\n1. client capacity at {n} streams (events/s | events per CPU-second | requests, failed):")
        print(f"   ours (1 Locust worker): {ours['events'] / ours['duration_s']:9.0f} | {ours['events'] / max(ours['cpu_s'], 1e-9):9.0f}"
              f" | {ours['requests']}, {ours['failed']}")
        print(f"   aiohttp client        : {theirs['events'] / theirs['duration_s']:9.0f} | "
              f"{theirs['events'] / max(theirs['cpu_s'], 1e-9):9.0f} | {theirs['requests']}, {theirs['errors']}", flush=True)
        on_schedule = ours["sim"]
        print(f"   simulator meanwhile   : {on_schedule['cpu_share']:.0%} of its core, {on_schedule['events_per_cpu_s']:.0f} events "
              f"per CPU-second, {on_schedule['merged']:.1%} of events merged into an earlier write", flush=True)
        print("\n2. timing error against the simulator's ground truth, |ms| p50 / p99:")
        for streams in (50, 200):
            ours = run_locust(url, streams, args.seconds)["summary"]["accuracy_vs_simulator_ms"]
            theirs = run_aiohttp(url, streams, args.seconds)
            print(f"   {streams:3d} streams  ours    TTFT {ours['ttft_abs_err']['p50']:6.3f} / {ours['ttft_abs_err']['p99']:7.3f}"
                  f"   ITL {ours['itl_abs_err']['p50']:6.3f} / {ours['itl_abs_err']['p99']:7.3f}")
            print(f"   {streams:3d} streams  aiohttp TTFT {theirs['ttft_err_p50']:6.3f} / {theirs['ttft_err_p99']:7.3f}"
                  f"   ITL {theirs['itl_err_p50']:6.3f} / {theirs['itl_err_p99']:7.3f}", flush=True)
        rates = "100,200,400,600,800,1000,1200,1500"
        sweep = run_locust(url, 800, 120, "--arrival", "constant", "--sweep-rates", rates, "--stage-s", "5",
                           "--output-tokens", "16", "--lag-budget-ms", "1000000")
        print("\n3. open-loop constant-rate sweep, one worker, 800 users, 16 tokens per answer (offered req/s -> "
              "achieved, client CPU, send lag p99 ms; sustained = every request served and the worker under 90% CPU, "
              "Locust's own line for trustworthy figures):")
        sustained = None
        for stage in sweep["summary"]["stages"]:
            cpu = stage_cpu_share(sweep, stage["stage"])
            kept = stage["achieved_rps"] >= 0.99 * stage["offered_rate"] and cpu is not None and cpu < 0.9
            print(f"   {stage['offered_rate']:6.0f} -> {stage['achieved_rps']:7.1f}  CPU {cpu:4.0%}  lag p99 "
                  f"{stage['send_lag_p99_ms']}{'' if kept else '  (not sustained)'}")
            if kept:
                sustained = stage
        if sustained:
            print(f"   highest sustained rate {sustained['offered_rate']:g} req/s: send lag p99 {sustained['send_lag_p99_ms']} ms")
    finally:
        stop(sim)
    cap = sim_capacity()
    print(f"\n4. simulator, flooded (1 ms ITL, 300 streams, 300,000 events/s asked): {cap['events_per_s']:.0f} events/s using "
          f"{cap['cpu_share']:.0%} of a core = {cap['events_per_cpu_s']:.0f} events per CPU-second; behind schedule, "
          f"{cap['merged']:.0%} of events were merged into an earlier write", flush=True)


if __name__ == "__main__":
    main()
