"""Command line for the live servers, for use from a shell (the tests use the library directly).

    python -m conformance.servers provision|start|stop|status|logs llamacpp|vllm|all

`start` runs the server in the background and records pid, port and log in the cache directory,
so `stop`, `status` and `logs` work from another shell. Exit codes: 0 ok, 1 failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ._errors import ServerError, UnknownServerError
from ._paths import run_dir
from ._process import RunningServer, process_group_alive, start_server, stop_process_group
from ._registry import SERVER_NAMES, provision, server_kind
from ._steps import log_tail

ACTIONS = ("provision", "start", "stop", "status", "logs")


@dataclass(frozen=True)
class ServerRecord:
    """What `start` leaves behind for the other commands."""

    name: str
    pid: int
    pgid: int
    port: int
    base_url: str
    log_path: str
    started_at: float

    @staticmethod
    def path(name: str) -> Path:
        return run_dir() / f"{name}.json"

    @classmethod
    def load(cls, name: str) -> ServerRecord | None:
        try:
            return cls(**json.loads(cls.path(name).read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise ServerError(
                f"[{name}-record] {cls.path(name)} is not a valid server record ({exc})\n"
                f"  what to do: stop the server by hand if it runs, then delete that file"
            ) from exc

    def save(self) -> None:
        self.path(self.name).write_text(json.dumps(self.__dict__, indent=2) + "\n")

    def alive(self) -> bool:
        return process_group_alive(self.pgid)


def _progress(message: str) -> None:
    print(message, flush=True)


def _names(target: str) -> tuple[str, ...]:
    if target == "all":
        return SERVER_NAMES
    server_kind(target)  # raises UnknownServerError listing the known names
    return (target,)


def _provision(name: str, _: argparse.Namespace) -> int:
    started = time.monotonic()
    provision(name, progress=_progress)
    print(f"{name}: provisioned ({time.monotonic() - started:.1f} s)")
    return 0


def _start(name: str, args: argparse.Namespace) -> int:
    record = ServerRecord.load(name)
    if record is not None and record.alive():
        print(f"{name}: already running at {record.base_url} (pid {record.pid}); stop it first", file=sys.stderr)
        return 1
    provision(name, progress=_progress)
    server = start_server(name, port=args.port, tie_to_parent=args.foreground)
    ServerRecord(name, server.pid, server.pgid, server.port, server.base_url, str(server.log_path), time.time()).save()
    print(
        f"{name}: ready at {server.base_url} in {server.ready_seconds:.1f} s "
        f"(pid {server.pid}, RSS {server.rss_bytes() / 2**20:.0f} MiB, log {server.log_path})"
    )
    if not args.foreground:
        return 0
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # sigwait needs them blocked
    try:
        signal.sigwait(stop_signals)
    finally:
        server.stop()
        ServerRecord.path(name).unlink(missing_ok=True)
    return 0


def _recorded(name: str, detail: str = "") -> ServerRecord | None:
    """The record `start` left for a server, or None after saying that it is not running (and `detail`)."""
    record = ServerRecord.load(name)
    if record is None:
        print(f"{name}: not running{detail}")
    return record


def _stop(name: str, _: argparse.Namespace) -> int:
    record = _recorded(name, f" (no record in {run_dir()})")
    if record is None:
        return 0
    if record.alive():
        stop_process_group(record.pgid, None)
        print(f"{name}: stopped (pid {record.pid})")
    else:
        print(f"{name}: was not running any more (pid {record.pid})")
    ServerRecord.path(name).unlink(missing_ok=True)
    return 0


def _status(name: str, _: argparse.Namespace) -> int:
    record = _recorded(name)
    if record is None:
        return 0
    if not record.alive():
        print(f"{name}: dead (pid {record.pid} gone; log {record.log_path})")
        return 1
    try:
        health = httpx.get(f"{record.base_url}/health", timeout=2.0).status_code
    except httpx.HTTPError as exc:
        health = f"unreachable ({exc.__class__.__name__})"
    rss = RunningServer(
        name, record.base_url, record.port, "smollm2", record.pid, record.pgid, Path(record.log_path)
    ).rss_bytes()
    print(
        f"{name}: running at {record.base_url} (pid {record.pid}, /health {health}, "
        f"RSS {rss / 2**20:.0f} MiB, up {time.time() - record.started_at:.0f} s, log {record.log_path})"
    )
    return 0 if health == 200 else 1


def _logs(name: str, args: argparse.Namespace) -> int:
    record = ServerRecord.load(name)
    if record is None:
        print(f"{name}: no running server recorded; logs are in {run_dir().parent / 'logs'}")
        return 1
    print(f"==> {record.log_path} <==")
    print(log_tail(Path(record.log_path), args.lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.servers", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("server", help=f"one of {', '.join(SERVER_NAMES)}, or all")
    parser.add_argument("--port", type=int, default=None, help="start: port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--foreground", action="store_true", help="start: keep running until Ctrl-C")
    parser.add_argument("--lines", type=int, default=40, help="logs: how many lines")
    args = parser.parse_args(argv)
    try:
        names = _names(args.server)
    except UnknownServerError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.port is not None and len(names) > 1:
        print("--port needs a single server name, not 'all'", file=sys.stderr)
        return 2
    action = {"provision": _provision, "start": _start, "stop": _stop, "status": _status, "logs": _logs}[args.action]
    status = 0
    for name in names:
        try:
            status = max(status, action(name, args))
        except ServerError as exc:
            print(exc, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
