"""What a run sends to: the embedded simulator it starts when no --host is given, and the model it discovers."""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import gevent

from loadtests.client.connection import Connection
from loadtests.client.failures import RequestFailure
from loadtests.runner.api_bodies import shape_body

if TYPE_CHECKING:
    from loadtests.runner.state import RunState

log = logging.getLogger("loadtest")


def simulator_command(o: Any) -> list[str]:
    """The command line of the embedded simulator for these options."""
    cmd = [sys.executable, "-m", "loadtests.sim", "--profile", o.sim_profile, "--port", "0", "--seed", str(o.seed)]
    if o.sim_fault_rate:
        cmd += ["--fault-rate", o.sim_fault_rate]
    if o.sim_cpu is not None:
        cmd += ["--cpu", str(o.sim_cpu)]
    extra = shlex.split(o.sim_args)
    if "--stall-s" not in extra:
        # A hostile stream (a stall, endless pings) must outlast the client's stall watchdog, or the
        # simulator's own cut-off races it and the failure is filed as `dropped` instead of `stall`.
        cmd += ["--stall-s", f"{o.stall_timeout_s + 5:g}"]
    return cmd + extra


def start_simulator(st: RunState) -> str:
    """Start `python -m loadtests.sim` for a run with no --host; returns its URL once it listens."""
    o = st.opts
    cmd = simulator_command(o)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with gevent.Timeout(20, False):
        line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        proc.kill()
        err = proc.stderr.read()[-800:] if proc.stderr else ""  # type: ignore[union-attr]
        raise SystemExit(f"the embedded simulator did not start ({' '.join(cmd)}): {line.strip()} {err.strip()}")
    st.sim = proc
    url = st.sim_url = line.split()[2]
    log.info("no --host given: started the embedded simulator (%s profile) at %s", o.sim_profile, url)
    return url


def stop_simulator(st: RunState) -> None:
    if st.sim is not None and st.sim.poll() is None:
        st.sim.terminate()
        try:
            st.sim.wait(5)
        except subprocess.TimeoutExpired:
            st.sim.kill()
    st.sim = None


def discover_model(st: RunState) -> str:
    """The first model id the target lists (a run with no --model)."""
    conn = Connection(st.target(), st.opts.connect_timeout_s, 10.0)
    try:
        _, resp = conn.request("GET", "/v1/models")
        raw = resp.read_all()
        if resp.status != 200:
            raise RequestFailure("http_4xx", f"GET /v1/models answered HTTP {resp.status}: {raw[:200]!r}")
        try:
            models = [m["id"] for m in json.loads(raw)["data"]]
        except (ValueError, KeyError, TypeError):
            raise RequestFailure("protocol", f"GET /v1/models is not an OpenAI model list: {raw[:200]!r}") from None
        if not models:
            raise RequestFailure("protocol", "GET /v1/models lists no model; give --model")
        return models[0]
    finally:
        conn.close()


def probe_api(st: RunState) -> str | None:
    """Why the target cannot serve the run's --api (it answers its path with 404 or 405), or None.

    One short request before the run: a server without the endpoint would otherwise fail every request of
    the run alike, and the cause would hide behind a thousand `http_4xx` failures.
    """
    api = st.api
    chat = {"model": st.opts.model, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 1, "stream": True}
    conn = Connection(st.target(), st.opts.connect_timeout_s, st.opts.stall_timeout_s)
    try:
        _, resp = conn.request("POST", api.path, json.dumps(shape_body(api.name, chat)).encode(), api.headers,
                               timeout_s=st.opts.stall_timeout_s)
        raw = resp.read_all()
    except RequestFailure as exc:
        log.warning("probing %s%s before the run failed (%s); the run will show how its requests fare",
                    st.env.host, api.path, exc)
        return None
    finally:
        conn.close()
    if resp.status not in (404, 405):
        return None
    return (f"the server at {st.env.host} does not serve --api {api.name}: POST {api.path} answered HTTP {resp.status} "
            f"({raw[:160].decode('utf-8', 'replace').strip()}); use --api chat, or a server that serves {api.path}")
