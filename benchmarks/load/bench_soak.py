"""Soak benchmark: does a long load run hold its memory flat, and does records.jsonl keep every request?

    .venv/bin/python benchmarks/load/bench_soak.py                    # 10 minutes, one local process
    .venv/bin/python benchmarks/load/bench_soak.py --processes 2      # master and two workers

Runs `locust -f loadtests/vllm.py` against the embedded simulator, samples the resident memory
(VmRSS from /proc) of the master and of each worker every minute, and prints a table (minute,
requests recorded so far, RSS per process) and the slope of each process's RSS in KB per request
after the first minute (start-up, imports and the first allocations of every user end within it).
Target: under 1 KB per request, where keeping every record in memory cost about 13 KB. At the end
records.jsonl must hold exactly one line per request the summary counts.

The load is a closed loop with many users and short answers: it runs at the highest rate this
machine sustains without tuning a rate to it (each user sends when its answer ends), and the rate
of records, not of tokens, is what memory used to grow with. An open loop above capacity would queue
up sends inside the client and measure that backlog instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.servers._supervisor import process_stats  # the project's one reader of every process in /proc

ROOT = Path(__file__).resolve().parents[2]
KB_PER_REQUEST_TARGET = 1.0


def rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


def load_processes(master: int) -> dict[str, int]:
    """The master (or the single local process) and its forked workers, not the simulator it started."""
    found = {"master": master}
    children = sorted(pid for pid, fields in process_stats() if int(fields[1]) == master and fields[0] != "Z")
    workers = [pid for pid in children if b"loadtests.sim" not in _cmdline(pid)]
    for i, pid in enumerate(workers):
        found[f"worker{i}"] = pid
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # the process just ended
        return b""


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def soak(minutes: int, processes: int, users: int, report_dir: Path) -> int:
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests/vllm.py"), "--headless", "--only-summary",
           "-u", str(users), "-r", str(users), "-t", f"{minutes}m", "--workload-mix", "chat=1", "--prompt-tokens", "16",
           "--output-tokens", "16", "--sim-args", "--ttft-ms 20 --itl-ms 2 --max-num-seqs 100000",
           "--report-dir", str(report_dir), "--run-name", "soak"]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    records = report_dir / "soak" / "records.jsonl"
    report_dir.mkdir(parents=True, exist_ok=True)
    log_path = report_dir / "locust.log"  # a file, not a pipe nobody reads during the run (it would fill and block)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    start = time.monotonic()
    rows: list[tuple[int, int, dict[str, int | None]]] = []
    try:
        for minute in range(1, minutes + 1):
            time.sleep(max(0.0, start + 60 * minute - time.monotonic()))
            if proc.poll() is not None:
                break
            rss = {name: rss_kb(pid) for name, pid in load_processes(proc.pid).items()}
            rows.append((minute, count_lines(records), rss))
            print(f"minute {minute}: {rows[-1][1]} requests, RSS " + ", ".join(f"{k} {v} KB" for k, v in rss.items()), flush=True)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log_path.read_text(errors="replace")
    summary_path = report_dir / "soak" / "summary.json"
    if not summary_path.exists():
        print(output[-3000:])
        raise SystemExit(f"the load run failed (exit {proc.returncode})")
    return report(rows, json.loads(summary_path.read_text()), count_lines(records), output)


def report(rows: list[tuple[int, int, dict[str, int | None]]], summary: dict, lines: int, output: str) -> int:
    names = list(rows[0][2]) if rows else []
    print("\n" + " | ".join(["minute", "requests so far", *[f"{n} RSS MB" for n in names]]))
    for minute, requests, rss in rows:
        print(" | ".join([str(minute), str(requests), *[f"{(rss.get(n) or 0) / 1024:.1f}" for n in names]]))
    ok = True
    if len(rows) >= 2:
        (_, req0, rss0), (_, req1, rss1) = rows[0], rows[-1]
        for name in names:
            if rss0.get(name) is None or rss1.get(name) is None:
                continue
            slope = (rss1[name] - rss0[name]) / max(req1 - req0, 1)  # type: ignore[operator]
            ok &= slope < KB_PER_REQUEST_TARGET
            print(f"slope after minute 1, {name}: {slope:.3f} KB per request over {req1 - req0} requests")
    else:
        print("slope: needs at least two minutes")
    counted = summary["ok"] + sum(summary["errors_by_kind"].values())
    complete = lines == summary["requests"] == counted
    print(f"records.jsonl: {lines} lines; summary: {summary['requests']} requests ({summary['ok']} ok, "
          f"{summary['failed']} failed), {summary['request_rps']} req/s -> {'complete' if complete else 'INCOMPLETE'}")
    print(next((line for line in output.splitlines() if line.startswith(("PASSED", "FAILED"))), "no verdict printed"))
    passed = ok and complete
    print(f"soak {'PASSED' if passed else 'FAILED'} (target: slope under {KB_PER_REQUEST_TARGET:g} KB per request, "
          "records.jsonl complete)")
    return 0 if passed else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--processes", type=int, default=1, help="1: one local process; 2 or more: a master and workers")
    ap.add_argument("--users", type=int, default=64)
    ap.add_argument("--report-dir", type=Path, help="keep the run's report here (default: a temporary folder)")
    args = ap.parse_args()
    if args.minutes < 2 or args.processes < 1 or args.users < 1:
        raise SystemExit("--minutes must be 2 or more (the slope is taken after the first), --processes and --users 1 or more")
    if args.report_dir:
        sys.exit(soak(args.minutes, args.processes, args.users, args.report_dir))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(soak(args.minutes, args.processes, args.users, Path(tmp)))


if __name__ == "__main__":
    main()
