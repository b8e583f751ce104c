"""The gate's severities: a failing `must` check fails the run, a failing `should` check only with
`--conformance-strict`; a check that states no severity stops the run at collection; not applicable is
its own outcome.

Like `test_baseline.py`, each test runs pytest (through `pytester`) on a small module whose checks store
`RunRecord`s and carry the `family` marker, as the suite's checks do.
"""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest

import conformance.checks
from conformance.severity import SEVERITIES, declared_severity
from tests.conformance.fake_suite import make_fake_suite

pytest_plugins = ["pytester"]

CHECKS = '''
import pytest
from conformance.evidence import RUN_RECORD_KEY, RunRecord
from conformance.report.results import NOT_APPLICABLE_PREFIX

pytestmark = pytest.mark.family("usage_metrics")

def record(request, check):
    request.node.stash[RUN_RECORD_KEY] = RunRecord(provider="fake", wire="openai-chat", family="usage_metrics",
                                                   check=check, title=check)

def test_usage_lost(request):
    """usage is lost.

    Severity: must -- lost token counts are lost data.
    """
    record(request, "usage.lost")
    raise AssertionError("usage lost")

def test_latency_missing(request):
    """latency is missing.

    Severity: should -- observability only.
    """
    record(request, "latency.missing")
    raise AssertionError("no latencyMs")

def test_token_ids(request):
    """token ids.

    Severity: must -- wrong training data.
    """
    record(request, "token.ids")
    pytest.skip(NOT_APPLICABLE_PREFIX + "provider fake does not declare token ids")
'''


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    return make_fake_suite(pytester, test_checks=CHECKS)


def matrix_rows(pytester: pytest.Pytester) -> dict[str, dict[str, str]]:
    results = json.loads((pytester.path / "reports/conformance/results/fake--openai-chat--replay.json").read_text())
    return {row["check"]: row for row in results["results"]}


def test_a_failing_should_check_is_reported_but_only_must_failures_fail_the_run(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-rx")
    result.assert_outcomes(failed=1, xfailed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*should-level failures (not failing the run)*",
        "SHOULD latency.missing: AssertionError: no latencyMs",
        "XFAIL *test_latency_missing*severity should (fails the run with --conformance-strict): AssertionError: no latencyMs",
    ])
    rows = matrix_rows(suite)
    assert (rows["latency.missing"]["outcome"], rows["latency.missing"]["severity"]) == ("failed", "should")
    assert (rows["usage.lost"]["outcome"], rows["usage.lost"]["severity"]) == ("failed", "must")
    markdown = (suite.path / "reports/conformance/matrix.md").read_text()
    assert "| usage_metrics | `latency.missing` | should | fail |" in markdown
    assert "| usage_metrics | `usage.lost` | must | **FAIL** |" in markdown


def test_without_failing_must_checks_the_run_passes(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-k", "not usage_lost")
    result.assert_outcomes(xfailed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK


def test_strict_fails_the_run_on_should_checks_too(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-k", "not usage_lost", "--conformance-strict")
    result.assert_outcomes(failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["latency.missing (should) | provider fake*"])


def test_not_applicable_is_its_own_outcome_in_the_matrix(suite: pytest.Pytester) -> None:
    suite.runpytest()
    assert matrix_rows(suite)["token.ids"]["outcome"] == "n/a"
    markdown = (suite.path / "reports/conformance/matrix.md").read_text()
    assert "| usage_metrics | `token.ids` | must | n/a |" in markdown
    assert "does not declare token ids" in markdown
    assert 'class="cell not-applicable"' in (suite.path / "reports/conformance/matrix.html").read_text()


def test_should_failures_are_written_to_the_baseline_and_then_expected(suite: pytest.Pytester) -> None:
    suite.runpytest("--conformance-write-baseline", "baseline.json")
    written = json.loads((suite.path / "baseline.json").read_text())["expected_failures"]
    assert written == {"usage.lost": "AssertionError: usage lost", "latency.missing": "AssertionError: no latencyMs"}
    result = suite.runpytest("--conformance-baseline", "baseline.json", "--conformance-strict", "-rx")
    result.assert_outcomes(xfailed=2, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL *test_latency_missing*baseline: AssertionError: no latencyMs*"])


@pytest.mark.parametrize(
    ("docstring", "expected"),
    [
        ('"""Checks something."""', "*test_unclassified.py::test_unclassified states no severity"),
        ('"""Checks something.\n\n    Severity: could -- maybe.\n    """',
         "*test_unclassified.py::test_unclassified: severity 'could' is not one of must, should"),
    ],
    ids=["missing", "unknown-word"],
)
def test_a_check_without_a_valid_severity_stops_the_run_saying_what_to_add(
    pytester: pytest.Pytester, docstring: str, expected: str
) -> None:
    make_fake_suite(pytester, test_unclassified=(
        "import pytest\n\npytestmark = pytest.mark.family('errors')\n\n"
        f"def test_unclassified():\n    {docstring}\n"
    ))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*conformance checks without a severity:",
        expected,
        '*Fix: add a line "Severity: must -- <why>"*conformance/README.md, section Severity*',
    ])


def test_every_check_of_the_suite_states_its_severity() -> None:
    checks = []
    for module_info in pkgutil.iter_modules(conformance.checks.__path__):
        module = importlib.import_module(f"conformance.checks.{module_info.name}")
        checks += [value for name, value in vars(module).items() if name.startswith("test_") and callable(value)]
    assert len(checks) > 25
    assert {check.__name__: declared_severity(check) in SEVERITIES for check in checks} == {
        check.__name__: True for check in checks
    }
