"""Reports a person reads: the matrix files a run writes, and the Allure results of a check."""

from __future__ import annotations

import json

import pytest

from tests.conformance.fake_suite import make_fake_suite

pytest_plugins = ["pytester"]

FAKE_PROVIDER_RUN = '''
import os
from conformance.evidence import RUN_RECORD_KEY, RunRecord

PROVIDER = os.environ["FAKE_PROVIDER"]

def record(request, check, family, **extra):
    request.node.stash[RUN_RECORD_KEY] = RunRecord(
        provider=PROVIDER, wire="openai-chat", family=family, check=check, title=f"{check} title",
        description=f"what {check} asserts", **extra,
    )

def test_grammar(request):
    record(request, "grammar.text", "event_grammar")

def test_stop(request):
    record(
        request, "stop.tool_calls", "stop_reasons", cassette="tool_calls_finish_stop",
        events=[{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "end_turn"}}],
        requests=[{"url": "http://127.0.0.1/v1/chat/completions", "body": {"model": "m"}}],
        validator_message="event 1 (messageStop): stopReason expected 'tool_use', got 'end_turn'",
    )
    if PROVIDER == "broken":
        raise AssertionError("event 1 (messageStop): stopReason expected 'tool_use', got 'end_turn'")
'''


@pytest.fixture
def fake_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    return make_fake_suite(pytester, test_fake_checks=FAKE_PROVIDER_RUN)


def test_the_matrix_spans_the_runs_of_several_providers(fake_suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_PROVIDER", "good")
    fake_suite.runpytest().assert_outcomes(passed=2)
    monkeypatch.setenv("FAKE_PROVIDER", "broken")
    result = fake_suite.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*conformance gate wrote *reports/conformance/matrix.md"])

    out = fake_suite.path / "reports" / "conformance"
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        "broken--openai-chat--replay.json",
        "good--openai-chat--replay.json",
    ]
    markdown = (out / "matrix.md").read_text()
    assert "| family | check | severity | broken (openai-chat, replay) | good (openai-chat, replay) |" in markdown
    assert "| event_grammar | `grammar.text` | must | pass | pass |" in markdown
    assert "| stop_reasons | `stop.tool_calls` | must | **FAIL** | pass |" in markdown
    assert (
        "| broken (openai-chat, replay) | `stop.tool_calls` | must | failed | event 1 (messageStop): stopReason expected "
        "'tool_use', got 'end_turn' (cassette `tool_calls_finish_stop`) |"
    ) in markdown
    html = (out / "matrix.html").read_text()
    assert html.count('data-check="stop.tool_calls"') == 1 and 'data-outcome="failed"' in html


def test_a_rerun_of_one_provider_replaces_its_previous_results(fake_suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_PROVIDER", "broken")
    fake_suite.runpytest()
    fake_suite.runpytest("-k", "grammar")
    rows = json.loads((fake_suite.path / "reports/conformance/results/broken--openai-chat--replay.json").read_text())
    assert [r["check"] for r in rows["results"]] == ["grammar.text"]


def test_a_corrupt_results_file_is_reported_not_ignored(fake_suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_PROVIDER", "good")
    stale = fake_suite.path / "reports/conformance/results/old.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{truncated")
    result = fake_suite.runpytest()
    result.stdout.fnmatch_lines(["*conformance gate: matrix not written: results file *old.json cannot be read*delete it*"])


def test_allure_results_carry_labels_and_the_failure_evidence(fake_suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_PROVIDER", "broken")
    result = fake_suite.runpytest_subprocess("--alluredir", "allure-results", "--conformance-no-matrix")
    result.assert_outcomes(passed=1, failed=1)
    results_dir = fake_suite.path / "allure-results"
    tests = [json.loads(p.read_text()) for p in results_dir.glob("*-result.json")]
    by_name = {t["name"]: t for t in tests}
    assert set(by_name) == {"grammar.text title", "stop.tool_calls title"}

    failed = by_name["stop.tool_calls title"]
    assert failed["status"] == "failed"
    assert failed["description"] == "what stop.tool_calls asserts"
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {
        ("provider", "broken"),
        ("wire", "openai-chat"),
        ("feature", "stop_reasons"),
        ("story", "stop.tool_calls"),
        ("parentSuite", "broken"),
    } <= labels
    attachments = {a["name"]: (results_dir / a["source"]).read_text() for a in failed["attachments"]}
    assert attachments["validator message"].startswith("event 1 (messageStop)")
    assert json.loads(attachments["event sequence"])[1] == {"messageStop": {"stopReason": "end_turn"}}
    assert json.loads(attachments["requests sent"])[0]["body"] == {"model": "m"}
    assert attachments["cassette"] == "tool_calls_finish_stop (replay)"

    passed = by_name["grammar.text title"]
    assert passed["status"] == "passed" and not passed.get("attachments")
    assert ("feature", "event_grammar") in {(label["name"], label["value"]) for label in passed["labels"]}


def test_an_allure_html_report_is_generated_offline_from_the_results(fake_suite: pytest.Pytester, monkeypatch) -> None:
    import subprocess
    from pathlib import Path

    monkeypatch.setenv("FAKE_PROVIDER", "broken")
    fake_suite.runpytest_subprocess("--alluredir", "allure-results", "--conformance-no-matrix").assert_outcomes(passed=1, failed=1)
    script = Path(__file__).resolve().parents[3] / "scripts" / "allure-report.sh"
    done = subprocess.run(
        ["bash", str(script), str(fake_suite.path / "allure-results"), str(fake_suite.path / "allure-report")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((fake_suite.path / "allure-report" / "summary.json").read_text())
    assert summary["stats"]["total"] == 2 and summary["stats"]["failed"] == 1, summary
    assert (fake_suite.path / "allure-report" / "index.html").stat().st_size > 0
