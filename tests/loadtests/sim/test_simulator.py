"""The simulator on its own: wire format, faults on demand, Neuron buckets and slots, ground truth."""

from __future__ import annotations

import json
import time

import pytest

from loadtests.client.chat_stream import ChatStreamAccumulator, latencies_of
from loadtests.client.connection import Connection, Target
from loadtests.client.failures import RequestFailure, classify_http_error
from loadtests.client.sse import SSEParser


def _stream(url: str, body: dict, headers: dict | None = None):
    conn = Connection(Target.parse(url), read_timeout=5.0)
    t_send, resp = conn.request("POST", "/v1/chat/completions", json.dumps(body).encode(), headers)
    if resp.status != 200:
        raise classify_http_error(resp.status, resp.read_all())
    assert resp.content_type == "text/event-stream"
    acc, parser = ChatStreamAccumulator(t_send), SSEParser()
    try:
        for ts, piece in resp.iter_body():
            for kind, text in parser.feed(piece):
                (acc.on_data if kind == "data" else acc.on_comment)(ts, text)
    finally:
        conn.close()
    return acc.finish()


BODY = {"model": "sim-model", "messages": [{"role": "user", "content": "one two three"}], "max_tokens": 8,
        "stream": True, "stream_options": {"include_usage": True, "continuous_usage_stats": True}, "return_token_ids": True}


def test_stream_usage_token_ids_and_truth(simulator):
    url = simulator("--ttft-ms", "40", "--itl-ms", "5", "--itl-spread-ms", "0")
    res = _stream(url, BODY)
    lat = latencies_of(res)
    assert res.done and res.completion_tokens == 8 and res.prompt_tokens == 7 and res.token_source == "token_ids"
    assert res.truth is not None and len(res.truth["emit_ms"]) == 8
    assert 40 <= res.truth["ttft_ms"] < 80  # asyncio timers fire late, never early
    assert lat.ttft_ms == pytest.approx(res.truth["recv_wall"] * 1e3 + res.truth["ttft_ms"] - res.t_send * 1e3, abs=2.0)
    assert 3.5 <= lat.tpot_ms <= 10.0  # 5 ms planned on an absolute schedule: a late first token shortens the rest


def test_merged_chunks_carry_several_token_ids(simulator):
    url = simulator("--tokens-per-chunk", "4", "--itl-ms", "5", "--itl-spread-ms", "0")
    res = _stream(url, {**BODY, "max_tokens": 12})
    assert res.chunk_tokens == [4, 4, 4]
    lat = latencies_of(res)
    assert [n for _, n in lat.itl_token_ms] == [4, 4]
    assert [v * 4 for v, _ in lat.itl_token_ms] == pytest.approx(lat.itl_chunk_ms)
    assert 36.0 <= sum(lat.itl_chunk_ms) <= 80.0  # 2 x 4 tokens of 5 ms; timers run late on a busy machine


@pytest.mark.parametrize("fault, kind", [("429", "rate_limited"), ("503", "unavailable"),
                                         ("context_overflow", "context_overflow")])
def test_http_faults_on_demand(simulator, fault, kind):
    url = simulator()
    with pytest.raises(RequestFailure) as info:
        _stream(url, BODY, {"x-sim-fault": fault})
    assert info.value.kind == kind


def test_drop_and_stall_faults(simulator):
    url = simulator("--stall-s", "30")
    with pytest.raises(RequestFailure) as info:
        _stream(url, {**BODY, "sim_fault": "drop"})
    assert info.value.kind == "dropped"
    conn = Connection(Target.parse(url), read_timeout=0.5)
    _, resp = conn.request("POST", "/v1/chat/completions", json.dumps(BODY).encode(), {"x-sim-fault": "stall"})
    start = time.monotonic()
    with pytest.raises(RequestFailure) as info:
        for _ in resp.iter_body():
            pass
    assert info.value.kind == "stall" and time.monotonic() - start < 2.0


def test_real_overflow_and_unknown_model(simulator):
    url = simulator("--profile", "neuron")
    with pytest.raises(RequestFailure) as info:
        _stream(url, {**BODY, "max_tokens": 4000})
    assert info.value.kind == "context_overflow" and "2048" in str(info.value)
    with pytest.raises(RequestFailure, match="does not exist"):
        _stream(url, {**BODY, "model": "nope"})


def test_tool_call_synthesised_from_schema(simulator):
    url = simulator()
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]}}}
    res = _stream(url, {**BODY, "tools": [tool], "tool_choice": "required"})
    assert res.finish_reason == "tool_calls" and res.tool_calls[0].name == "get_weather"
    assert json.loads(res.tool_calls[0].arguments) == {"city": "Paris", "unit": "celsius"}
    assert max(n for n in res.chunk_tokens) == 3  # the parser-style merge: 3 tokens per message


def test_neuron_first_hit_per_bucket_and_slots(simulator):
    url = simulator("--profile", "neuron", "--first-hit-ms", "300", "--max-num-seqs", "1", "--itl-spread-ms", "0")
    cold = latencies_of(_stream(url, BODY)).ttft_ms
    warm = latencies_of(_stream(url, BODY)).ttft_ms
    assert cold - warm > 500  # prefill bucket 128 and batch bucket 1 both compile on first use
    long_prompt = {**BODY, "messages": [{"role": "user", "content": "w " * 600}]}
    assert latencies_of(_stream(url, long_prompt)).ttft_ms - warm > 300  # bucket 1024: another compile
    assert latencies_of(_stream(url, long_prompt)).ttft_ms > warm  # warm, but prefill grows with the bucket


def test_models_health_metrics(simulator):
    url = simulator("--profile", "llamacpp")
    conn = Connection(Target.parse(url))
    _, resp = conn.request("GET", "/v1/models")
    assert json.loads(resp.read_all())["data"][0]["id"] == "sim-model"
    _, resp = conn.request("GET", "/health")
    assert resp.status == 200 and json.loads(resp.read_all()) == {"status": "ok"}
    _stream(url, BODY)
    _, resp = conn.request("GET", "/metrics")
    text = resp.read_all().decode()
    assert 'vllm:generation_tokens_total{model_name="sim-model"} 8' in text and "vllm:num_requests_running" in text
    conn.close()


def _metric(url: str, name: str) -> int:
    conn = Connection(Target.parse(url))
    try:
        _, resp = conn.request("GET", "/metrics")
        text = resp.read_all().decode()
    finally:
        conn.close()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


def test_on_schedule_every_chunk_is_its_own_write(simulator):
    # 50 ms apart: only a simulator held up for 50 ms (not a busy CI machine's few) would merge them
    url = simulator("--itl-ms", "50", "--itl-spread-ms", "0")
    res = _stream(url, {**BODY, "max_tokens": 4})
    assert len(set(res.truth["emit_ms"])) == 4
    assert _metric(url, "sim_sse_events_merged_total") == 0


def test_behind_schedule_chunks_are_merged_not_lost(simulator):
    # 0.01 ms per token: a hundred chunks fall due every millisecond, far more than one write each
    url = simulator("--itl-ms", "0.01", "--itl-spread-ms", "0", "--ttft-ms", "1")
    res = _stream(url, {**BODY, "max_tokens": 400})
    assert res.completion_tokens == 400 and sum(res.chunk_tokens) == 400 and len(res.truth["emit_ms"]) == 400
    merged = _metric(url, "sim_sse_events_merged_total")
    assert 0 < merged < 400
    # at most 16 chunks share a write, so at most 16 share one written time
    assert max(res.truth["emit_ms"].count(t) for t in set(res.truth["emit_ms"])) <= 16


def test_a_flooded_tick_writes_in_slices_the_loop_can_answer_between(monkeypatch):
    """Far behind schedule, one tick must not write everything due before the loop polls its sockets again
    (it once kept /metrics waiting for seconds); it writes 32 streams a slice once its time budget is spent."""
    import asyncio
    import heapq
    from types import SimpleNamespace

    from loadtests.sim import scheduling
    from loadtests.sim.profiles import PROFILES
    from loadtests.sim.server import SimServer

    monkeypatch.setattr(scheduling, "TICK_BUDGET_S", 0.0)
    srv = SimServer(PROFILES["vllm"])
    order: list = []

    async def flood() -> None:
        loop = srv.loop = asyncio.get_running_loop()
        srv.emit = lambda st: order.append(st.i)  # type: ignore[method-assign]
        key = int(loop.time() * 1000) - 1
        srv.wheel[key] = [SimpleNamespace(i=i, done=False) for i in range(100)]
        heapq.heappush(srv.due_ms, key)
        srv._tick()
        loop.call_soon(order.append, "other work")
        await asyncio.sleep(0.05)

    asyncio.run(flood())
    assert [x for x in order if x != "other work"] == list(range(100))  # every stream written, in order
    assert order.index("other work") == 64  # after two slices, not after all 100


def test_several_workers_share_one_port_and_one_metrics_page(simulator):
    """--workers 2: connections reach both processes, any one of them reports the counters of all."""
    url = simulator("--workers", "2", "--ttft-ms", "1", "--itl-ms", "1")
    for _ in range(12):  # streamed, each on a new connection
        assert _stream(url, {**BODY, "max_tokens": 3}).completion_tokens == 3
    workers = set()
    for _ in range(12):  # a new connection each: the kernel spreads them over the two sockets
        conn = Connection(Target.parse(url))
        try:
            _, resp = conn.request("POST", "/v1/chat/completions", json.dumps({**BODY, "stream": False}).encode())
            workers.add(json.loads(resp.read_all())["id"].split("-sim")[1][0])  # worker 1 numbers from 100000000
        finally:
            conn.close()
    assert workers == {"0", "1"}, f"every connection reached the same worker: {workers}"
    for _ in range(6):  # each /metrics request lands on either worker: each adds both
        assert _metric(url, 'vllm:request_success_total{model_name="sim-model"}') == 24


def test_stopping_the_simulator_stops_every_worker(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "loadtests.sim", "--port", "0", "--workers", "3"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("listening on ")  # type: ignore[union-attr]
    children = [int(p) for p in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()]
    assert len(children) == 3
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    deadline = time.time() + 5
    while any(os.path.exists(f"/proc/{c}") and "Z" not in open(f"/proc/{c}/stat").read().split()[2] for c in children):
        assert time.time() < deadline, "a worker outlived its simulator"
        time.sleep(0.05)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_clear_line(simulator, workers):
    import subprocess
    import sys

    taken = simulator().rsplit(":", 1)[1]
    out = subprocess.run([sys.executable, "-m", "loadtests.sim", "--port", taken, "--workers", workers],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"cannot listen on 127.0.0.1:{taken}: Address already in use; choose another --port "
                                  "(0: any free one)")
