"""Upstream `strands.models.litellm.LiteLLMModel` runs offline: litellm's bundled model cost map, and every
connection to the loopback replay server.

The proof runs in a fresh interpreter, because litellm reads `LITELLM_LOCAL_MODEL_COST_MAP` once, at its
first import: a guard on `socket.connect` and `getaddrinfo` is installed before anything imports litellm,
then the factory streams a recorded litellm cassette from the loopback server, and the child prints every
address it asked for or connected to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.upstream_litellm import LOCAL_COST_MAP, litellm

REPOSITORY = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, json, socket, sys
from pathlib import Path

seen = []
real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

def connect(self, address):
    seen.append(["connect", str(address[0]) if isinstance(address, tuple) else str(address)])
    return real_connect(self, address)

def getaddrinfo(host, *args, **kwargs):
    seen.append(["resolve", str(host)])
    return real_getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.loopback import LoopbackServer
from conformance.upstream_litellm import litellm
from conformance.validator import validate_events

cassette = load_cassette(Path("recordings/litellm/tool_single.vllm.json"))

async def run(model):
    return [event async for event in model.stream(**CASES["tool_single"].for_server("vllm").stream_kwargs())]

with LoopbackServer() as server, server.replay(cassette) as loop:
    model = litellm(base_url=server.url + "/v1", model_id="smollm2")
    stop = validate_events(asyncio.run(run(model))).stop_reason
    import litellm as sdk
    print(json.dumps({"stop": stop, "sent": len(loop.sent), "unplayed": len(loop.unplayed()),
                      "mismatches": loop.mismatches, "seen": seen, "cost_map_models": len(sdk.model_cost)}), flush=True)
# litellm keeps its aiohttp client cached for the process; its exit-time cleanup can outlive the loopback
# server it was connected to, and the proof is already printed.
import os
os._exit(0)
"""

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def test_no_request_leaves_loopback_and_the_cost_map_is_local() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LITELLM_")}
    env["PYTHONPATH"] = str(REPOSITORY)
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=REPOSITORY, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["stop"] == "tool_use" and outcome["sent"] == 1, outcome
    assert not outcome["unplayed"] and not outcome["mismatches"], outcome
    assert outcome["seen"], "the guard saw no connection: the replay did not go through the loopback server"
    assert {host for _kind, host in outcome["seen"]} <= LOOPBACK, outcome["seen"]
    assert outcome["cost_map_models"] > 100, "litellm's bundled cost map did not load"


def test_factory_sets_the_local_cost_map_and_the_loopback_transport() -> None:
    assert litellm.conformance_transport == "sockets"  # type: ignore[attr-defined]
    assert LOCAL_COST_MAP == ("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    model = litellm(base_url="http://127.0.0.1:9/v1", model_id="smollm2", params={"max_tokens": 8})
    assert os.environ[LOCAL_COST_MAP[0]] == LOCAL_COST_MAP[1]
    assert model.client_args["api_base"] == "http://127.0.0.1:9/v1" and model.client_args["max_retries"] == 0
    assert model.get_config()["params"] == {"max_tokens": 8}
