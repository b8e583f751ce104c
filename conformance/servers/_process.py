"""Start a provisioned server on 127.0.0.1, wait until it answers, and always stop it completely.

Each server runs under `_supervisor.py`, which leads a process group of its own and stops every
descendant (vLLM forks an engine core and workers) on SIGTERM or when the starting process dies,
even by SIGKILL (PR_SET_PDEATHSIG). stop() signals the whole group; an atexit hook stops what is
still running at interpreter exit.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ._errors import StartError
from ._model import MODEL_ID
from ._paths import logs_dir
from ._supervisor import process_stats
from ._registry import server_kind
from ._steps import die_with_parent, log_tail, spawn_logged

__all__ = ["RunningServer", "start_server", "pick_free_port", "process_group_alive", "stop_process_group"]

HOST = "127.0.0.1"
STOP_GRACE_S = 15.0
SUPERVISOR_GRACE_S = 8.0  # the supervisor's own SIGTERM-to-SIGKILL delay, below STOP_GRACE_S
SUPERVISOR = Path(__file__).with_name("_supervisor.py")
POLL_INTERVAL_S = 0.25


def pick_free_port() -> int:
    """A port the kernel reports free on 127.0.0.1 (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _check_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR ignores TIME_WAIT leftovers, so only a real listener counts as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            what = "already in use" if exc.errno == errno.EADDRINUSE else f"not usable ({exc})"
            raise StartError.failure(
                step=f"{name}-start",
                what=f"port {port} on {HOST} is {what}",
                fix="stop whatever listens there (ss -ltnp), or pass port=None to pick a free port",
            ) from exc


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_members_all_zombies(pgid: int) -> bool:
    """True when every process left in the group is a zombie (dead, waiting to be reaped)."""
    return all(fields[0] == "Z" for _pid, fields in process_stats() if int(fields[2]) == pgid)


def stop_process_group(pgid: int, process: subprocess.Popen[bytes] | None, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the whole group, SIGKILL it after `grace_s`, and wait until no member is left."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if process is not None:
                process.poll()  # reap the leader, which we started
            if not process_group_alive(pgid) or _group_members_all_zombies(pgid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    if process is not None:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _rss_of_group(pgid: int) -> int:
    total = 0
    for status_dir in Path("/proc").glob("[0-9]*"):
        try:
            fields = (status_dir / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for line in (status_dir / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class RunningServer:
    """A started server. `base_url` has no /v1 suffix.

    `pid` is the server process itself (signal it to pause or crash it in fault tests); `pgid` is
    its supervisor, leader of the process group that holds every process of the server.
    """

    name: str
    base_url: str
    port: int
    model_id: str
    pid: int
    pgid: int
    log_path: Path
    ready_seconds: float = 0.0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server and every process it spawned; safe to call more than once."""
        stop_process_group(self.pgid, self._process)
        _running.pop(self.pgid, None)

    def is_alive(self) -> bool:
        if self._process is not None:
            self._process.poll()
        return process_group_alive(self.pgid) and not _group_members_all_zombies(self.pgid)

    def rss_bytes(self) -> int:
        """Resident memory of the whole process group (server plus its worker processes)."""
        return _rss_of_group(self.pgid)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


_running: dict[int, RunningServer] = {}


@atexit.register
def _stop_all_at_exit() -> None:
    for server in list(_running.values()):
        server.stop()


def _ready(client: httpx.Client, base_url: str) -> bool:
    try:
        if client.get(f"{base_url}/health").status_code != 200:
            return False
        models = client.get(f"{base_url}/v1/models")
        return models.status_code == 200 and any(m.get("id") == MODEL_ID for m in models.json().get("data", []))
    except (httpx.HTTPError, ValueError):
        return False


def start_server(
    name: str,
    *,
    port: int | None = None,
    ready_timeout: float | None = None,
    tie_to_parent: bool = True,
) -> RunningServer:
    """Start the provisioned server `name` and return once /health and /v1/models answer.

    `ready_timeout` defaults to a per-server bound (llama.cpp 120 s, vLLM 600 s). With
    `tie_to_parent` (the default) the server is stopped when the thread that started it ends (the
    kernel's parent-death signal follows the starting thread: call this from the main thread or
    from one that outlives the server); the CLI's background start turns it off.
    Raises StartError (nothing left running, log tail in the message).
    """
    kind = server_kind(name)
    if port is None:
        port = pick_free_port()
    else:
        _check_port_free(name, port)
    spec = kind.launch(port)
    timeout = kind.ready_timeout_s if ready_timeout is None else ready_timeout
    log_path = logs_dir() / f"{name}-server-{port}.log"
    pid_file = log_path.with_suffix(".pid")
    pid_file.unlink(missing_ok=True)
    base_url = f"http://{HOST}:{port}"
    supervised = [
        sys.executable, str(SUPERVISOR), *(["--watch-parent"] if tie_to_parent else []),
        "--pid-file", str(pid_file), "--grace", str(SUPERVISOR_GRACE_S), "--", *spec.command,
    ]
    try:
        process = spawn_logged(supervised, log_path, env={**os.environ, **spec.env}, shown=spec.command,
                               preexec_fn=die_with_parent if tie_to_parent else None)
    except OSError as exc:
        raise StartError.failure(
            step=f"{name}-start", what=f"could not run the server: {exc}", command=spec.command,
            log_path=log_path, fix=f"provision again: python -m conformance.servers provision {name}",
        ) from exc
    server = RunningServer(name, base_url, port, MODEL_ID, process.pid, process.pid, log_path, _process=process)
    if tie_to_parent:  # a detached server (CLI start) must outlive this interpreter's atexit hook
        _running[process.pid] = server
    started = time.monotonic()
    try:
        with httpx.Client(timeout=2.0) as client:
            while True:
                if process.poll() is not None:
                    raise StartError.failure(
                        step=f"{name}-start",
                        what=f"the server exited with status {process.returncode} during start-up",
                        command=spec.command, log_path=log_path, log_tail=log_tail(log_path),
                        fix="read the log; if the binary or venv is broken, delete its cache folder and provision again",
                    )
                if _ready(client, base_url):
                    break
                if time.monotonic() - started > timeout:
                    raise StartError.failure(
                        step=f"{name}-start",
                        what=f"the server was not ready at {base_url} after {timeout:.0f} s",
                        command=spec.command, log_path=log_path, log_tail=log_tail(log_path),
                        fix="read the log; on a busy machine pass a larger ready_timeout",
                    )
                time.sleep(POLL_INTERVAL_S)
        server.pid = int(pid_file.read_text())
    except BaseException:
        server.stop()
        raise
    server.ready_seconds = time.monotonic() - started
    return server
