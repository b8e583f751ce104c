"""The simulator's Responses API and Anthropic Messages endpoints: each workload answered in the API's own events,
read by the load-test reader, accepted by the reference decoder and the conformance rules, timed by the ground
truth; each fault broken the way it breaks on chat."""

from __future__ import annotations

import json
import random
import time

import pytest

from loadtests.client.apis import APIS
from loadtests.client.chat_stream import latencies_of
from loadtests.client.connection import Connection, Target
from loadtests.client.failures import RequestFailure, as_failure, classify_http_error
from loadtests.client.nonconformance import check_stream
from loadtests.client.sse import SSEParser
from loadtests.runner.workloads import WorkloadConfig, build_request, validate_output

WORKLOADS = [("responses", "chat"), ("responses", "long"), ("responses", "tool"), ("responses", "json"),
             ("responses", "multiturn"), ("messages", "chat"), ("messages", "long"), ("messages", "tool"),
             ("messages", "multiturn")]


def _request(api: str, workload: str, max_tokens: int = 8):
    cfg = WorkloadConfig(model="sim-model", prompt_tokens=16, long_prompt_tokens=64, output_tokens=max_tokens, api=api)
    return build_request(workload, cfg, random.Random(1))


def _stream(url: str, api: str, body: dict, headers: dict | None = None, read_timeout: float = 5.0):
    """(result, raw body) of one streamed request; a failure raises as on the request path."""
    spec = APIS[api]
    conn = Connection(Target.parse(url), read_timeout=read_timeout)
    t_send, resp = conn.request("POST", spec.path, json.dumps(body).encode(), {**spec.headers, **(headers or {})})
    if resp.status != 200:
        raise classify_http_error(resp.status, resp.read_all())
    assert resp.content_type == "text/event-stream"
    acc, parser, raw = spec.reader(t_send), SSEParser(), []
    try:
        for ts, piece in resp.iter_body():
            raw.append(piece)
            for kind, text in parser.feed(piece):
                (acc.on_data if kind == "data" else acc.on_comment)(ts, text)
    except Exception as exc:
        raise as_failure(exc) from None
    finally:
        conn.close()
    return acc.finish(), b"".join(raw)


@pytest.mark.parametrize(("api", "workload"), WORKLOADS, ids=[f"{a}-{w}" for a, w in WORKLOADS])
def test_each_workload_is_answered_in_the_apis_own_events(simulator, api, workload):
    url = simulator("--ttft-ms", "30", "--itl-ms", "4", "--itl-spread-ms", "0")
    req = _request(api, workload)
    res, raw = _stream(url, api, req.body)
    assert res.done and res.token_source == "usage" and res.prompt_tokens > 0
    lat = latencies_of(res)
    # the ground truth has one write per output event: framing events written at admission are not the first token
    assert len(res.truth["emit_ms"]) == len(res.chunk_ts) and sum(res.truth["tokens"]) == lat.output_tokens
    assert lat.ttft_ms == pytest.approx(res.truth["recv_wall"] * 1e3 + res.truth["ttft_ms"] - res.t_send * 1e3, abs=2.0)
    assert lat.ttft_ms > 25.0  # 30 ms planned: not the framing events written at once
    assert validate_output(req, res) == ((True, None) if req.expect != "text" else (None, None))
    assert res.finish_reason == {"tool": "tool_calls", "json": "stop"}.get(req.expect if workload != "multiturn" else "", "length")
    assert check_stream(APIS[api].wire, raw, req.body, output_schema=req.schema if req.expect == "json" else None) == []


@pytest.mark.parametrize(("api", "fault", "workload", "rules"), [
    ("responses", "tool_args_not_json", "tool", {"tool-input-json"}),
    ("messages", "tool_args_not_json", "tool", {"tool-input-json"}),
    ("responses", "usage_off", "chat", {"length-at-max-tokens"}),  # no per-event counts: caught where the count is bounded
    ("messages", "usage_off", "chat", {"length-at-max-tokens"}),
    ("messages", "finish_contradicts", "chat", {"stop-reason-matches-content"}),
    ("messages", "finish_contradicts", "tool", {"stop-reason-matches-content"}),
])
def test_content_faults_break_the_conformance_rules(simulator, api, fault, workload, rules):
    url = simulator("--ttft-ms", "5", "--itl-ms", "1")
    req = _request(api, workload)
    _res, raw = _stream(url, api, {**req.body, "sim_fault": fault})
    assert {v.rule for v in check_stream(APIS[api].wire, raw, req.body)} == rules


@pytest.mark.parametrize("api", ["responses", "messages"])
@pytest.mark.parametrize(("fault", "kind"), [("drop", "dropped"), ("garbage_json", "malformed_json"), ("bad_utf8", "decode"),
                                             ("oversize", "oversize"), ("429", "rate_limited"),
                                             ("context_overflow", "context_overflow")])
def test_stream_and_http_faults_fail_by_kind(simulator, api, fault, kind):
    url = simulator("--ttft-ms", "5", "--itl-ms", "1")
    with pytest.raises(RequestFailure) as info:
        _stream(url, api, _request(api, "chat").body, {"x-sim-fault": fault})
    assert info.value.kind == kind


@pytest.mark.parametrize("api", ["responses", "messages"])
@pytest.mark.parametrize("fault", ["pings", "empty_choices"])
def test_keep_alives_without_output_end_in_a_stall(simulator, api, fault):
    url = simulator("--ttft-ms", "5", "--itl-ms", "1", "--stall-s", "30")
    start = time.monotonic()
    with pytest.raises(RequestFailure) as info:
        _stream(url, api, _request(api, "chat").body, {"x-sim-fault": fault}, read_timeout=0.5)
    assert info.value.kind == "stall" and time.monotonic() - start < 3.0


def test_an_api_left_out_answers_404_and_a_request_not_streamed_400(simulator):
    url = simulator("--apis", "chat,messages")
    with pytest.raises(RequestFailure, match="HTTP 404") as info:
        _stream(url, "responses", _request("responses", "chat").body)
    assert info.value.status == 404
    res, _ = _stream(url, "messages", _request("messages", "chat").body)
    assert res.done
    with pytest.raises(RequestFailure, match="only as streams"):
        _stream(url, "messages", {**_request("messages", "chat").body, "stream": False})
