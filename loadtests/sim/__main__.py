"""Command line of the simulator: `python -m loadtests.sim --profile vllm --port 0`.

Prints `listening on http://127.0.0.1:PORT` once ready (the Locust side waits for that line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from loadtests.sim.apis import API_PATHS
from loadtests.sim.profiles import PROFILES, parse_fault_rates
from loadtests.sim.server import serve
from loadtests.sim.workers import run_workers


def _positive(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.sim", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="vllm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", help="served model id (default: the profile's)")
    parser.add_argument("--ttft-ms", type=_positive)
    parser.add_argument("--itl-ms", type=_positive)
    parser.add_argument("--itl-spread-ms", type=_positive)
    parser.add_argument("--max-num-seqs", type=int)
    parser.add_argument("--tokens-per-chunk", type=int)
    parser.add_argument("--first-hit-ms", type=_positive)
    parser.add_argument("--fault-rate", default="", help="e.g. 429=0.05,stall=0.01")
    parser.add_argument("--stall-s", type=_positive)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--apis", help="the generation APIs to serve, e.g. chat (a server without /v1/responses); "
                                       "default: chat,responses,messages")
    parser.add_argument("--cpu", help="pin the simulator to this CPU core; with --workers, a list (0,2,...) "
                                      "gives worker i core i modulo its length")
    parser.add_argument("--workers", type=int, default=1,
                        help="simulator processes on the one port (SO_REUSEPORT), for more events a second "
                             "than one process writes on schedule; max-num-seqs is split between them")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error(f"--host {args.host!r}: the simulator only listens on loopback (127.0.0.1 or ::1)")
    try:
        fault_rates = parse_fault_rates(args.fault_rate)
    except ValueError as exc:
        parser.error(f"--fault-rate: {exc}")
    overrides = {k: v for k, v in {
        "model_id": args.model, "ttft_ms": args.ttft_ms, "itl_ms": args.itl_ms, "itl_spread_ms": args.itl_spread_ms,
        "max_num_seqs": args.max_num_seqs, "tokens_per_chunk": args.tokens_per_chunk,
        "first_hit_ms": args.first_hit_ms, "stall_s": args.stall_s}.items() if v is not None}
    if fault_rates:
        overrides["fault_rates"] = fault_rates
    if args.apis is not None:
        apis = tuple(filter(None, (name.strip() for name in args.apis.split(","))))
        unknown = set(apis) - set(API_PATHS.values())
        if unknown or not apis:
            parser.error(f"--apis {args.apis!r}: give some of {', '.join(API_PATHS.values())}")
        overrides["apis"] = apis
    profile = PROFILES[args.profile].with_overrides(**overrides)
    try:
        cpus = [int(c) for c in args.cpu.split(",")] if args.cpu else None
    except ValueError:
        parser.error(f"--cpu {args.cpu!r}: give a core number, or with --workers a list such as 0,2")
    if args.workers < 1 or args.workers > 64:
        parser.error(f"--workers {args.workers}: give 1 to 64 processes")
    if args.workers > 1 and profile.max_num_seqs < args.workers:
        parser.error(f"--workers {args.workers} with max-num-seqs {profile.max_num_seqs}: each worker needs a slot; "
                     "use fewer workers")

    def ready(port: int) -> None:
        workers = f" workers={args.workers}" if args.workers > 1 else ""
        print(f"listening on http://{args.host}:{port} profile={profile.name} model={profile.model_id}{workers}", flush=True)

    if args.workers > 1:
        sys.exit(run_workers(profile, args.host, args.port, args.seed, args.workers, cpus, ready, serve_in_loop))
    if cpus:
        os.sched_setaffinity(0, {cpus[0]})
    try:
        serve_in_loop(profile, args.host, args.port, args.seed, ready)
    except KeyboardInterrupt:
        sys.exit(0)


def serve_in_loop(*args: Any, **kw: Any) -> None:
    """Run `serve` to the end in a fresh event loop: uvloop's when installed."""
    try:
        import uvloop  # C event loop: about 2x the events per CPU-second of asyncio's own
    except ImportError:
        asyncio.run(serve(*args, **kw))
    else:
        uvloop.run(serve(*args, **kw))


if __name__ == "__main__":
    main()
