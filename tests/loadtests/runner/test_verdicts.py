"""Verdicts that cannot lie: every request against a hostile server ends in exactly one outcome of the right kind."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..conftest import run_locust
from ..hostile import HostileServer


@pytest.fixture
def hostile() -> Iterator:
    servers: list[HostileServer] = []

    def start(*plan: str) -> HostileServer:
        servers.append(HostileServer(list(plan)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _run_through_plan(tmp_path, server: HostileServer) -> tuple[dict, dict[str, int]]:
    """Two users for 3 s against `server`: the summary and what the server served, every request accounted once."""
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "3s", "--host", server.url, "--model", "m",
                     "--workload-mix", "chat=1", "--max-error-rate", "0.6", timeout=30)
    s, served = run.summary, server.served
    assert run.returncode == 0, run.output[-2000:]
    # The whole plan met, its last misbehaviour followed by another request (a busy machine may get through
    # the plan only once or twice in 3 s).
    assert s["requests"] == sum(served.values()) > server.plan_length and set(served) == server.kinds
    assert s["ok"] == served["ok"]
    return s, served


def test_every_broken_stream_is_counted_by_kind_and_never_misfiles_the_next(tmp_path, hostile):
    server = hostile("ok", "decode", "ok", "choices_not_objects", "ok", "usage_not_object", "ok", "garbage_json")
    s, served = _run_through_plan(tmp_path, server)
    assert s["errors_by_kind"] == {"decode": served["decode"], "malformed_json": served["choices_not_objects"]
                                   + served["usage_not_object"] + served["garbage_json"]}


def test_broken_http_framing_fails_its_request_and_the_next_starts_on_a_fresh_connection(tmp_path, hostile):
    # The body is read in the event loop's callback for its socket: a framing error or a connection cut
    # mid-chunk there must reach the request as its failure, not stop the loop or hang the user.
    s, served = _run_through_plan(tmp_path, hostile("ok", "bad_chunk_size", "ok", "cut_mid_chunk"))
    assert s["errors_by_kind"] == {"protocol": served["bad_chunk_size"], "dropped": served["cut_mid_chunk"]}


def test_requests_in_flight_at_the_end_are_unfinished_failures_listed_apart(tmp_path, hostile):
    server = hostile("trickle")  # a token every 0.3 s, forever: never a stall
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "2s", "--host", server.url, "--model", "m",
                     "--workload-mix", "chat=1", "--stall-timeout-s", "1", timeout=30)
    s = run.summary
    assert run.returncode == 1 and not s["passed"]
    assert s["errors_by_kind"] == {"unfinished": 2} and s["unfinished"] == 2 and s["requests"] == 2
    assert "unfinished: 2 request(s) still in flight" in run.output
    assert run.seconds_after_first_send < 2 + 1 + 1 + 3  # -t, the stall timeout, the stop grace's second, Locust's stop


def test_only_content_holds_off_the_stall_watchdog_and_every_answer_has_a_deadline(tmp_path, hostile):
    server = hostile("ok", "pings", "ok", "empty_choices", "ok", "trickle")
    run = run_locust("vllm", tmp_path, "-u", "3", "-r", "3", "-t", "4s", "--host", server.url, "--model", "m",
                     "--workload-mix", "chat=1", "--stall-timeout-s", "1", "--request-timeout-s", "1.6", timeout=30)
    s, served = run.summary, server.served
    assert run.returncode == 1
    assert s["requests"] == sum(served.values()) and s["ok"] == served["ok"] > 3
    assert s["errors_by_kind"] == {"stall": served["pings"] + served["empty_choices"], "deadline": served["trickle"]}
    assert run.seconds_after_first_send < 4 + 1 + 1 + 3  # -t, the stall timeout, the stop grace's second, Locust's stop



def test_a_50_mb_line_fails_its_request_at_once_and_leaves_the_other_streams_alone(tmp_path, hostile):
    server = hostile("oversize", "ok", "ok", "ok", "ok", "ok")
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "3s", "--host", server.url, "--model", "m",
                     "--workload-mix", "chat=1", "--max-error-rate", "0.5", timeout=30)
    s, served = run.summary, server.served
    assert s["requests"] == sum(served.values()) and s["ok"] == served["ok"] > 10
    assert s["errors_by_kind"] == {"oversize": served["oversize"]}
    refused = [r for r in run.records if not r["ok"]]
    assert max(r["e2e_ms"] for r in refused) < 1000
    assert max(r["itl_chunk_max_ms"] for r in run.records if r["ok"]) < 200  # no stream held up behind the big line
    assert run.returncode == 0 and run.seconds_after_first_send < 3 + 3


def test_intermittent_faults_never_end_the_run_early(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-u", "64", "-r", "64", "-t", "4s", "--sim-fault-rate", "html=0.05",
                     "--workload-mix", "chat=1", "--max-error-rate", "0.2", timeout=40)
    s = run.summary
    assert run.returncode == 0, run.output[-2000:]
    assert time.monotonic() - start > 4 and s["duration_s"] > 3 and "aborted" not in str(s["failures"])
    assert set(s["errors_by_kind"]) <= {"not_sse"} and s["ok"] > 50


def test_a_model_the_server_does_not_serve_ends_the_run_early(tmp_path):
    start = time.monotonic()
    run = run_locust("vllm", tmp_path, "-u", "2", "-r", "2", "-t", "60s", "--model", "no-such-model", timeout=40)
    assert run.returncode == 1 and time.monotonic() - start < 20
    assert "the first 10 requests all failed the same way" in run.output and "does not exist" in run.output


@pytest.mark.parametrize("flag, value, message", [
    ("--max-error-rate", "nan", "--max-error-rate must be a fraction from 0 to 1, got 'nan'"),
    ("--max-error-rate", "2", "--max-error-rate must be a fraction from 0 to 1, got '2'"),
    ("--max-error-rate", "-1", "--max-error-rate must be a fraction from 0 to 1, got '-1'"),
    ("--slo-percentile", "150", "--slo-percentile must be a percentile above 0 and at most 100, got '150'"),
    ("--max-event-bytes", "0", "--max-event-bytes must be > 0, got '0'"),
    ("--request-timeout-s", "inf", "--request-timeout-s must be > 0, got 'inf'"),
    ("-u", "-5", "-u/--users must be 0 or more, got -5; e.g. -u 16 -r 16"),
])
def test_bad_options_exit_2_before_the_run_with_the_fix(tmp_path, flag, value, message):
    run = run_locust("vllm", tmp_path, "-t", "3s", f"{flag}={value}", timeout=30)
    assert run.returncode == 2 and message in run.output, run.output[-1000:]
    assert run.summary is None


def test_rate_limited_users_honour_retry_after_and_the_report_shows_the_time(tmp_path):
    run = run_locust("vllm", tmp_path, "-u", "4", "-r", "4", "-t", "3s", "--sim-fault-rate", "429=1", timeout=30)
    s = run.summary
    assert run.returncode == 1 and s["errors_by_kind"] == {"rate_limited": s["requests"]}
    assert 4 <= s["requests"] <= 20  # one per user per second (the simulator's Retry-After: 1), not thousands
    assert s["backoff"]["times"] == s["requests"] and s["backoff"]["total_s"] == s["requests"] * 1.0
    assert "backed off after 429/503" in run.output
