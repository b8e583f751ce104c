"""The gate's baseline: known failures become strict expected failures, regressions still fail.

Each test runs pytest (through `pytester`) on a small module whose tests store `RunRecord`s the way the
suite's checks do, so the gate plugin sees exactly what it sees in a real run.
"""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FAKE_CHECKS = '''
import pytest
from conformance.evidence import RUN_RECORD_KEY, RunRecord

def record(request, check, family="stop_reasons", message=None, provider="fake", wire="openai-chat"):
    request.node.stash[RUN_RECORD_KEY] = RunRecord(
        provider=provider, wire=wire, family=family, check=check, title=f"title of {check}",
        cassette=f"{check}.cassette", validator_message=message,
    )

def test_passes(request):
    record(request, "stop.end_turn")

def test_wrong_stop(request):
    message = "event 4 (messageStop): stopReason expected 'tool_use', got 'end_turn'\\nfull sequence: ..."
    record(request, "stop.tool_calls", message=message)
    raise AssertionError(message)

def test_lost_usage(request):
    record(request, "usage.final_chunk", family="usage_metrics")
    assert {"inputTokens": 0} == {"inputTokens": 12}, "usage lost"

def test_skipped_live_only(request):
    record(request, "errors.live_only", family="errors")
    pytest.skip("needs a live server")

def test_without_record():
    pass
'''


@pytest.fixture
def fake_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_fake_checks=FAKE_CHECKS)
    return pytester


def write_json(pytester: pytest.Pytester, name: str, data: object) -> str:
    path = pytester.path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_write_baseline_records_current_failures_with_one_line_reasons(fake_suite: pytest.Pytester) -> None:
    result = fake_suite.runpytest("--conformance-write-baseline", "baseline.json", "--conformance-no-matrix")
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    data = json.loads((fake_suite.path / "baseline.json").read_text())
    assert data == {
        "format": 1,
        "provider": "fake",
        "wire": "openai-chat",
        "expected_failures": {
            "stop.tool_calls": "event 4 (messageStop): stopReason expected 'tool_use', got 'end_turn'",
            "usage.final_chunk": "AssertionError: usage lost",
        },
    }
    result.stdout.fnmatch_lines(["*conformance gate wrote *baseline.json"])


def test_known_failures_become_expected_failures_and_the_run_passes(fake_suite: pytest.Pytester) -> None:
    fake_suite.runpytest("--conformance-write-baseline", "baseline.json", "--conformance-no-matrix")
    result = fake_suite.runpytest("--conformance-baseline", "baseline.json", "--conformance-no-matrix", "-rx")
    result.assert_outcomes(passed=2, xfailed=2, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL *test_wrong_stop*baseline: event 4 (messageStop)*"])


def run_with_baseline(pytester: pytest.Pytester, expected_failures: dict[str, str], *options: str):
    """Run the fake suite against a baseline listing `expected_failures` (format 1, no provider)."""
    baseline = write_json(pytester, "b.json", {"format": 1, "expected_failures": expected_failures})
    return pytester.runpytest("--conformance-baseline", baseline, *options, "--conformance-no-matrix")


def test_a_failure_outside_the_baseline_is_a_regression(fake_suite: pytest.Pytester) -> None:
    result = run_with_baseline(fake_suite, {"stop.tool_calls": "maps tool_calls to end_turn"})
    result.assert_outcomes(passed=2, xfailed=1, failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED *test_lost_usage*"])


def test_a_baseline_check_that_passes_fails_the_run_and_says_to_remove_it(fake_suite: pytest.Pytester) -> None:
    result = run_with_baseline(
        fake_suite,
        {"stop.tool_calls": "x", "usage.final_chunk": "y", "stop.end_turn": "used to stop with end_turn on length"},
    )
    result.assert_outcomes(passed=1, xfailed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*[[]XPASS(strict)[]] stop.end_turn passed, but the baseline *b.json lists it as a known failure"
            " (used to stop with end_turn on length). The provider fixed it: remove 'stop.end_turn' from the baseline.*",
            "*NOW PASSING stop.end_turn*remove it from *b.json*fails the run*",
        ]
    )


def test_report_only_mode_reports_a_newly_passing_check_without_failing(fake_suite: pytest.Pytester) -> None:
    result = run_with_baseline(
        fake_suite, {"stop.tool_calls": "x", "usage.final_chunk": "y", "stop.end_turn": "z"}, "--conformance-baseline-report-only"
    )
    result.assert_outcomes(passed=1, xfailed=2, xpassed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*NOW PASSING stop.end_turn (baseline: z)*reported only*"])


def test_entries_for_checks_that_did_not_run_are_reported(fake_suite: pytest.Pytester) -> None:
    result = run_with_baseline(fake_suite, {"stop.tool_calls": "x", "usage.final_chunk": "y", "stop.renamed": "z"})
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*NOT RUN stop.renamed: listed in *b.json but no check with this id ran*"])


def test_tests_without_a_run_record_are_untouched(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_without_record():\n    assert False\n")
    result = run_with_baseline(pytester, {"test_without_record": "x"})
    result.assert_outcomes(failed=1)
    assert not (pytester.path / "reports").exists()


def test_a_baseline_of_another_provider_stops_the_run(fake_suite: pytest.Pytester) -> None:
    baseline = write_json(fake_suite, "b.json", {"format": 1, "provider": "neuron", "expected_failures": {}})
    result = fake_suite.runpytest("--conformance-baseline", baseline, "--conformance-no-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*baseline *b.json is for provider 'neuron' but this run tests provider 'fake'*"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "*baseline file *missing.json does not exist; create it with --conformance-write-baseline*"),
        ("{not json", "*is not valid JSON: Expecting property name*line 1 column 2*"),
        ("[]", "*must hold a JSON object*got a JSON list*"),
        ('{"format": 2, "expected_failures": {}}', "*has format 2; this gate reads format 1*"),
        ('{"format": 1, "expected_failures": ["a"]}', "*'expected_failures' must be an object*got list*"),
        ('{"format": 1, "expected_failures": {"a": ""}}', "*entry 'a' needs a non-empty one-line reason*"),
        ('{"format": 1, "expected_failures": {"a": "x\\ny"}}', "*the reason of 'a' spans several lines*"),
        ('{"format": 1, "expected_failures": {}, "checks": {}}', "*unknown keys [[]'checks'[]]*"),
    ],
)
def test_a_bad_baseline_file_is_a_usage_error_that_says_what_is_wrong(
    fake_suite: pytest.Pytester, content: str | None, expected: str
) -> None:
    name = "missing.json"
    if content is not None:
        name = "bad.json"
        (fake_suite.path / name).write_text(content, encoding="utf-8")
    result = fake_suite.runpytest("--conformance-baseline", name, "--conformance-no-matrix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_junit_xml_shows_known_failures_as_skipped_and_regressions_as_failures(fake_suite: pytest.Pytester) -> None:
    run_with_baseline(fake_suite, {"stop.tool_calls": "known"}, "--junitxml=junit.xml")
    junit = (fake_suite.path / "junit.xml").read_text()
    assert 'failures="1"' in junit and 'skipped="2"' in junit
    assert 'message="baseline: known"' in junit


@pytest.mark.parametrize(
    ("check", "provider", "expected"),
    [
        ("test_tool_call[neuron-tool_parallel-written]", "neuron", "test_tool_call[tool_parallel-written]"),
        ("test_config_api[neuron]", "neuron", "test_config_api"),
        ("test_tool_call[vllm-neuron_case]", "neuron", "test_tool_call[vllm-neuron_case]"),
        ("stop.tool_calls", "neuron", "stop.tool_calls"),
    ],
)
def test_check_ids_leave_out_the_provider_so_rows_and_baselines_fit_every_provider(
    check: str, provider: str, expected: str
) -> None:
    from conformance.gate import check_id
    from conformance.evidence import RunRecord

    assert check_id(RunRecord(provider=provider, wire="openai-chat", family="tool_calls", check=check)) == expected


def test_write_baseline_refuses_a_run_of_several_providers(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(FAKE_CHECKS.replace('def test_passes(request):\n    record(request, "stop.end_turn")',
                                            'def test_passes(request):\n    record(request, "stop.end_turn", provider="other")'))
    result = pytester.runpytest("--conformance-write-baseline=b.json", "--conformance-no-matrix")
    result.stdout.fnmatch_lines(["*--conformance-write-baseline not written: a baseline holds one provider, this run tested fake (openai-chat), other (openai-chat)*"])
    assert not (pytester.path / "b.json").exists()
