"""No server process outlives the Python process that started it, however that process ends.

A child Python starts a real server and is then interrupted (SIGINT) or killed (SIGKILL); every
process of the server's group (for vLLM: API server, engine core, worker) must be gone soon after.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.servers import SERVER_NAMES, provision

# The child takes Ctrl-C as a user's shell would deliver it: a test session started as a background job of
# a non-interactive shell (`nohup ... &`) has SIGINT ignored, and the child would inherit that.
CHILD = """
import json, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from conformance.servers import start_server
with start_server(sys.argv[1]) as server:
    print(json.dumps({"pid": server.pid, "pgid": server.pgid}), flush=True)
    time.sleep(3600)
"""
READY_DEADLINE_S = 660.0
GONE_DEADLINE_S = 12.0  # the supervisor's 8 s grace before SIGKILL, plus headroom


def live_members(pgid: int) -> list[str]:
    """Processes of the group that are not zombies, read from /proc (independent of the code under test)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{stat.parent.name} {name}")
    return found


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie.

    A supervisor orphaned by SIGKILL is reparented to whichever process reaps orphans here; in a
    container that may not reap promptly, so an exited supervisor can linger as a zombie.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.live
@pytest.mark.parametrize("kill_signal", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("name", SERVER_NAMES)
def test_server_dies_with_the_process_that_started_it(name: str, kill_signal: signal.Signals) -> None:
    provision(name, progress=lambda message: print(message, file=sys.__stderr__, flush=True))
    child = subprocess.Popen([sys.executable, "-c", CHILD, name], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], READY_DEADLINE_S)
        line = child.stdout.readline() if ready else ""
        assert line, f"the child did not report a started {name} server (exit status {child.poll()})"
        started = json.loads(line)
        assert live_members(started["pgid"]), "the server group is not running"

        child.send_signal(kill_signal)
        child.wait(timeout=30)
        deadline = time.monotonic() + GONE_DEADLINE_S
        while live_members(started["pgid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live_members(started["pgid"]) == [], f"{name} processes outlived their starter ({kill_signal.name})"
        assert not is_running(started["pid"]), f"the {name} supervisor (pid {started['pid']}) outlived its starter"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
