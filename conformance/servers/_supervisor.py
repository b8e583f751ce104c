"""A tiny supervisor between us and a server, so no server process outlives the one that started it.

vLLM forks an engine core and workers; when the API server is killed they are orphaned and keep
running (measured: still alive 20 s after). The supervisor leads the server's process group and
is a child subreaper, so every descendant stays its child; it stops all of them when it gets
SIGTERM/SIGINT/SIGHUP, when the server exits, or (through PR_SET_PDEATHSIG) when its own parent
dies, even by SIGKILL. Stand-alone on purpose (standard library only, run by path):

    python _supervisor.py [--watch-parent] --pid-file FILE --grace SECONDS -- COMMAND...
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


class _Stop(Exception):
    pass


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields after the command name) of every process: fields[0] state, [1] ppid, [2] pgid.

    Also read by the starter (`_process.py`) to see a whole process group go.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended while we looked
            continue
        yield int(stat.parent.name), fields


def _children() -> list[int]:
    me = os.getpid()
    return [pid for pid, fields in process_stats() if int(fields[1]) == me and fields[0] != "Z"]


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _stop_descendants(grace_s: float) -> None:
    """SIGTERM every descendant (they are all our children, as subreaper), SIGKILL after grace."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        deadline = time.monotonic() + wait_s
        targets = _children()
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        while targets and time.monotonic() < deadline:
            time.sleep(0.05)
            _reap()
            targets = _children()  # orphaned grandchildren reparent to us: they are targets too
            for pid in targets:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        if not targets:
            return


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watch-parent", action="store_true")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    def on_signal(signum: int, frame: object) -> None:
        raise _Stop()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if args.watch_parent:
        # Replaces the SIGKILL death signal set before exec (so there is no unguarded moment)
        # with one we can catch and clean up after.
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    exit_code = 0
    try:
        server = subprocess.Popen(command)
        Path(args.pid_file).write_text(f"{server.pid}\n")
        exit_code = server.wait()
        print(f"[supervisor] server exited with status {exit_code}", flush=True)
    except _Stop:
        print("[supervisor] stopping the server", flush=True)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        _stop_descendants(args.grace)
    return exit_code if exit_code >= 0 else 128 - exit_code


if __name__ == "__main__":
    sys.exit(main())
