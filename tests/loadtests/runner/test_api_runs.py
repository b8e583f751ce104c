"""Locust runs (subprocesses) on the Responses API and Anthropic Messages against the simulator: the same figures,
validity and conformance verdicts as on chat, hostile streams counted by kind, and the refusals before a run."""

from __future__ import annotations

import time

import pytest

from ..conftest import run_locust
from .test_nonconformance_runs import _sim_faults

MIXES = {"responses": "chat=3,tool=1,json=1,multiturn=1", "messages": "chat=3,tool=1,long=1,multiturn=1"}


@pytest.mark.parametrize("api", ["responses", "messages"])
def test_a_run_matches_the_ground_truth_and_judges_every_stream(tmp_path, api):
    run = run_locust("vllm", tmp_path, "-u", "6", "-r", "6", "-t", "5s", "--api", api, "--workload-mix", MIXES[api],
                     "--sim-args", "--ttft-ms 40 --itl-ms 8 --tokens-per-chunk 2", "--conformance-sample", "1")
    assert run.returncode == 0, run.output[-3000:]
    s = run.summary
    assert s["passed"] and s["failed"] == 0 and s["ok"] >= 15
    lat = s["latency_ms"]
    assert 39.0 <= lat["ttft"]["p50"] <= 55.0
    assert 7.0 <= lat["itl_token"]["p50"] <= 11.0 and 14.0 <= lat["itl_chunk"]["p50"] <= 22.0  # two tokens per event
    acc = s["accuracy_vs_simulator_ms"]
    assert acc["ttft_abs_err"]["p50"] < 1.0 and acc["itl_abs_err"]["p50"] < 1.0
    assert all(v["valid_rate"] == 1.0 for v in s["validity"].values()) and "tool" in s["validity"]
    assert s["token_sources"] == {"usage": s["ok"]}
    assert s["conformance"]["checked"] == s["requests"] and s["conformance"]["nonconformant"] == 0
    chat = [r for r in run.records if r["workload"] == "chat"]
    assert chat and all(r["output_tokens"] == 64 and r["finish_reason"] == "length" for r in chat)
    assert {r["finish_reason"] for r in run.records if r["workload"] == "tool"} == {"tool_calls"}


@pytest.mark.parametrize("api", ["responses", "messages"])
def test_hostile_streams_are_failures_of_their_kind(simulator, tmp_path, api):
    url = simulator("--ttft-ms", "10", "--itl-ms", "2", "--stall-s", "20", "--fault-rate",
                    "drop=0.1,garbage_json=0.1,bad_utf8=0.1,pings=0.05,tool_args_not_json=0.2")
    run = run_locust("vllm", tmp_path, "-u", "4", "-r", "4", "-t", "5s", "--host", url, "--api", api,
                     "--workload-mix", "chat=1,tool=1", "--stall-timeout-s", "2", "--max-error-rate", "1",
                     "--conformance-sample", "1", timeout=90)
    assert run.returncode == 0, run.output[-3000:]
    injected = _sim_faults(url)
    s = run.summary
    # a tool_args_not_json fault drawn for a text request leaves it whole: only tool calls carry arguments
    tool_faults = sum(1 for r in run.records if r.get("error_kind") == "nonconformant")
    errors = dict(s["errors_by_kind"])
    # the probe before the run is one more request the simulator may have drawn a fault for
    short = {fault: injected[fault] - errors.pop(kind, 0)
             for kind, fault in (("dropped", "drop"), ("malformed_json", "garbage_json"), ("decode", "bad_utf8"))}
    assert all(n >= 0 for n in short.values()) and sum(short.values()) <= 1, (s["errors_by_kind"], injected)
    assert errors.pop("nonconformant", 0) == tool_faults
    # a stalled stream drawn in the last second of the run is still waiting for its watchdog when the run ends
    assert set(errors) <= {"stall", "unfinished"} and 0 < sum(errors.values()) <= injected["pings"], (errors, injected)
    assert 0 < tool_faults <= injected["tool_args_not_json"] and injected["drop"] and injected["garbage_json"]
    assert s["conformance"]["by_rule"].keys() == {"tool-input-json"}
    assert s["latency_ms"]["ttft"]["count"] == s["ok"]


def test_json_output_on_messages_is_refused_naming_the_workload_and_the_api(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "1", "-t", "2s", "--api", "messages", "--workload-mix", "chat=1,json=1")
    assert run.returncode == 2 and run.summary is None
    assert "the json workload cannot run with --api messages" in run.output and "--api responses" in run.output


def test_a_server_without_the_api_is_named_before_the_run(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-u", "4", "-t", "30s", "--api", "responses", "--sim-args", "--apis chat")
    assert run.returncode == 1 and run.summary is None and time.monotonic() - start < 20
    assert "does not serve --api responses: POST /v1/responses answered HTTP 404" in run.output
    assert "use --api chat" in run.output
