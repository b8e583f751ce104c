"""Each Locust scenario, headless for a few seconds, against the real llama.cpp and vLLM servers.

The servers come from `conformance.servers` (the session fixtures provision and start them on
127.0.0.1 and stop them at the end; a failure to start errors the test, it never skips).
"""

from __future__ import annotations

import pytest

from ..conftest import run_locust

pytestmark = pytest.mark.live

SCENARIO_ARGS = {
    "vllm": [],
    "llamacpp": [],
    # the real server is vLLM on the CPU here: keep the warmup to two small buckets and batch sizes
    "neuron": ["--prefill-buckets", "128,256", "--batch-buckets", "1,2", "--max-num-seqs", "2", "--seq-len", "2048"],
}


@pytest.mark.parametrize("scenario", ["vllm", "neuron", "llamacpp"])
@pytest.mark.parametrize("conformance_live_server", ["llamacpp", "vllm"], indirect=True)
def test_scenario_against_real_server(conformance_live_server, scenario, tmp_path):
    # Short prompts and answers, and only the plain-text workloads: on a busy 2-core machine these CPU servers
    # drop to a token or two per second, and a tool call (about 40 tokens) or llama.cpp's grammar-constrained
    # JSON then outlasts a 40 s run. The tool and JSON workloads meet the real vLLM in test_nonconformance_runs.
    run = run_locust(scenario, tmp_path, "-u", "2", "-r", "2", "-t", "40s", "--host", conformance_live_server.base_url,
                     "--model", conformance_live_server.model_id, "--output-tokens", "8", "--prompt-tokens", "16",
                     "--long-prompt-tokens", "64", "--workload-mix", "chat=3,long=1", "--max-error-rate", "0.2",
                     *SCENARIO_ARGS[scenario], timeout=300)
    assert run.summary is not None, run.output[-3000:]
    s = run.summary
    assert s["ok"] >= 1, (s["errors_by_kind"], s["error_samples"], run.output[-2000:])
    assert run.returncode == (0 if s["passed"] else 1)
    assert s["passed"], s["failures"]
    lat = s["latency_ms"]
    assert lat["ttft"]["count"] == s["ok"] and 0 < lat["ttft"]["p50"] <= lat["e2e"]["p50"]
    assert lat["itl_token"]["count"] > 0 and lat["tpot"]["p50"] > 0
    assert "accuracy_vs_simulator_ms" not in s  # no ground truth from a real server
    ok = [r for r in run.records if r["ok"]]
    assert all(r["output_tokens"] > 0 and r["prompt_tokens"] > 0 for r in ok)
    if conformance_live_server.name == "vllm" and scenario == "vllm":
        assert set(s["token_sources"]) == {"token_ids"}  # exact per-chunk counts from return_token_ids
    if scenario == "neuron":
        assert {"128", "256"} <= set(s["warmup"]["prefill_buckets"])
    for workload, validity in s["validity"].items():
        assert validity["checked"] >= 1 and 0.0 <= validity["valid_rate"] <= 1.0, workload


@pytest.mark.parametrize("api", ["responses", "messages"])
@pytest.mark.parametrize("conformance_live_server", ["llamacpp", "vllm"], indirect=True)
def test_api_against_real_server(conformance_live_server, api, tmp_path):
    # Both servers answer both APIs. Plain text only, two users, 20 s: on a busy machine a request may outlast its
    # deadline, which is the server's timing and no fault of the API; any other failure is.
    server = conformance_live_server
    run = run_locust(server.name, tmp_path, "-u", "2", "-r", "2", "-t", "20s", "--host", server.base_url, "--model",
                     server.model_id, "--api", api, "--output-tokens", "8", "--prompt-tokens", "16", "--workload-mix",
                     "chat=1", "--max-error-rate", "1", "--conformance-sample", "1", timeout=150)
    assert run.summary is not None, run.output[-3000:]
    s = run.summary
    assert s["ok"] >= 1 and run.returncode == 0, (s["errors_by_kind"], s["error_samples"], run.output[-2000:])
    assert set(s["errors_by_kind"]) <= {"deadline", "stall", "unfinished"}, s["error_samples"]
    lat = s["latency_ms"]
    assert lat["ttft"]["count"] == s["ok"] and 0 < lat["ttft"]["p50"] <= lat["e2e"]["p50"] and lat["tpot"]["p50"] > 0
    assert s["token_sources"] == {"usage": s["ok"]}
    assert s["conformance"]["checked"] >= s["ok"] and s["conformance"]["nonconformant"] == 0, s["conformance"]
    ok = [r for r in run.records if r["ok"]]
    assert all(0 < r["output_tokens"] <= 8 and r["prompt_tokens"] > 0 and r["chunks"] > 0 for r in ok)
