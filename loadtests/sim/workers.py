"""Several simulator processes on one port: `python -m loadtests.sim --workers N`.

One Python process writes about 30,000 events a second on schedule on this project's machine, less
than twice what one Locust worker reads. Here each worker is a whole simulator with its own
listening socket on the same port (SO_REUSEPORT: the kernel spreads connections across them), its
own timer wheel, and `max_num_seqs / N` slots, rounded up: the slots are split, not shared, so a
queue forms per worker. The counters are shared: every worker publishes its own into its row of a
shared memory block every 10 ms and at once when asked for `/metrics`, which adds all rows, so
any worker answers for the whole simulator.

The parent only starts the workers, prints the one `listening on` line once all of them listen,
and stops them all: on SIGTERM or SIGINT, or when any one of them dies. A worker whose parent dies
is stopped by the kernel (PR_SET_PDEATHSIG), so none is left behind.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from loadtests.sim.profiles import FAULT_KINDS, SimProfile

if TYPE_CHECKING:
    from loadtests.sim.server import SimServer

COUNTERS = ("prompt_tokens", "generation_tokens", "requests_ok", "sse_events", "sse_events_merged")
STAT_NAMES = (*COUNTERS, "running", "waiting", *(f"fault:{k}" for k in FAULT_KINDS))
_ROW = struct.Struct(f"{len(STAT_NAMES)}q")
PUBLISH_EVERY_S = 0.01


def own_stats(server: SimServer) -> dict[str, int]:
    """One simulator process's counters, running and waiting requests and faults, named as in STAT_NAMES."""
    c = server.counters
    return {**{k: c[k] for k in COUNTERS}, "running": len(server.active), "waiting": len(server.waiting),
            **{f"fault:{k}": server.faults[k] for k in FAULT_KINDS}}


class SharedStats:
    """One row of counters per worker in an anonymous shared mapping, inherited across fork."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.buf = mmap.mmap(-1, workers * _ROW.size)

    def publish(self, index: int, server: SimServer) -> None:
        _ROW.pack_into(self.buf, index * _ROW.size, *own_stats(server).values())

    def totals(self) -> dict[str, int]:
        rows = (_ROW.unpack_from(self.buf, i * _ROW.size) for i in range(self.workers))
        return dict(zip(STAT_NAMES, (sum(column) for column in zip(*rows))))


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _stop_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent's signal handler still stops the workers


def run_workers(profile: SimProfile, host: str, port: int, seed: int | None, workers: int, cpus: list[int] | None,
                ready: Callable[[int], None], serve_worker: Callable[..., None]) -> int:
    """Fork `workers` simulators on one port; return the exit status once they have all stopped.

    `serve_worker(profile, host, port, seed, ready, sock=, shared=, worker=)` runs one worker's loop.
    """
    shared = SharedStats(workers)
    try:
        first = _listening_socket(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else exc
        raise SystemExit(f"cannot listen on {host}:{port}: {reason}; choose another --port (0: any free one)") from None
    port = first.getsockname()[1]
    each = profile.with_overrides(max_num_seqs=-(-profile.max_num_seqs // workers))
    ready_r, ready_w = os.pipe()
    pids: list[int] = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker
            os.close(ready_r)
            _stop_with_parent()
            if cpus:
                os.sched_setaffinity(0, {cpus[index % len(cpus)]})
            sock = first if index == 0 else _listening_socket(host, port)
            if index:
                first.close()
            try:
                serve_worker(each, host, port, None if seed is None else seed + index,
                             lambda _port: os.write(ready_w, b"."), sock=sock, shared=shared, worker=index)
            except KeyboardInterrupt:
                pass
            os._exit(0)
        pids.append(pid)
    os.close(ready_w)
    first.close()

    def stop_all(*_args: object) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, lambda *_a: (stop_all(), sys.exit(0)))
    signal.signal(signal.SIGINT, lambda *_a: (stop_all(), sys.exit(0)))
    started = b""
    while len(started) < workers:
        more = os.read(ready_r, workers)
        if not more:
            stop_all()
            raise SystemExit("a simulator worker stopped before it was listening; see its error above")
        started += more
    os.close(ready_r)
    ready(port)
    status = 0
    for _ in range(workers):  # the first worker to stop, for whatever reason, stops the rest
        _pid, code = os.wait()
        status = status or os.waitstatus_to_exitcode(code)
        stop_all()
    return status
