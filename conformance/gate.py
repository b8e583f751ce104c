"""pytest plugin of the release gate: baselines, the conformance matrix and Allure metadata.

It reads the `RunRecord` the suite stores on every check (`conformance.evidence`) and does three things:
- `--conformance-baseline FILE`: checks listed in the baseline become strict expected failures, so a provider can
  adopt the gate and fail only on regressions; a listed check that passes fails the run (or, with
  `--conformance-baseline-report-only`, is only reported) until it is removed from the file.
  `--conformance-write-baseline FILE` records the checks failing in this run.
- The matrix (providers by checks): the run's results are saved under `--conformance-matrix-dir` and
  `matrix.md` / `matrix.html` are rebuilt from every provider's saved results.
- Allure (with `--alluredir`): labels per check and, on failure, the evidence as attachments.
- Severity (`conformance.severity`): a failing `should` check is reported but does not fail the run
  unless `--conformance-strict`; a check that states no severity stops the run at collection.
- Short failures: a failing check is one paragraph (`conformance.report.failures`), the traceback
  only with `--conformance-long-failures` or `--tb=long`.

Items without a `RunRecord` (the project's own unit tests) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance.baseline import Baseline, BaselineError, load_baseline, one_line_reason, write_baseline
from conformance.evidence import RUN_RECORD_KEY, RunRecord
from conformance.report import allure as allure_report
from conformance.report.failures import failure_message, short_failure
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.results import (
    ERROR,
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    SKIPPED,
    XFAILED,
    XPASSED,
    CheckResult,
    ResultsError,
    build_matrix,
    is_not_applicable,
    load_all_results,
    save_results,
)
from conformance.severity import FIX, SHOULD, item_severity, unclassified_checks

@dataclass
class GateState:
    """What the gate learns during one session."""

    baseline: Baseline | None
    baseline_path: Path | None
    baseline_strict: bool  # a baseline check that passes fails the run (not --baseline-report-only)
    severity_strict: bool  # --conformance-strict: `should` failures fail the run too
    long_failures: bool  # pytest's own traceback instead of the one-paragraph failure
    write_baseline_path: Path | None
    matrix_dir: Path | None
    results: dict[str, CheckResult] = field(default_factory=dict)  # nodeid -> result
    failing_now: dict[str, str] = field(default_factory=dict)  # check id -> one-line reason
    newly_passing: list[tuple[str, str]] = field(default_factory=list)  # (check id, baseline reason)
    not_gating: list[tuple[str, str]] = field(default_factory=list)  # (check id, reason): `should` failures let pass
    labelled: set[str] = field(default_factory=set)  # nodeids already given Allure labels
    written: list[Path] = field(default_factory=list)
    report_error: str | None = None


GATE_STATE_KEY = pytest.StashKey[GateState]()


def pytest_configure(config: pytest.Config) -> None:
    invocation_dir = config.invocation_params.dir
    baseline_option = config.option.conformance_baseline
    baseline = None
    baseline_path = None
    if baseline_option:
        baseline_path = invocation_dir / baseline_option
        try:
            baseline = load_baseline(baseline_path)
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from exc
    write_option = config.option.conformance_write_baseline
    config.stash[GATE_STATE_KEY] = GateState(
        baseline=baseline,
        baseline_path=baseline_path,
        baseline_strict=not config.option.conformance_baseline_report_only,
        severity_strict=config.option.conformance_strict,
        # Any --tb style the user chose (long, short, native, ...) is pytest's own output, not the paragraph.
        long_failures=config.option.conformance_long_failures or config.getoption("tbstyle") not in ("auto", None),
        write_baseline_path=invocation_dir / write_option if write_option else None,
        matrix_dir=None if config.option.conformance_no_matrix else invocation_dir / config.option.conformance_matrix_dir,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = unclassified_checks(items)
    if problems:
        raise pytest.UsageError("conformance checks without a severity:\n  " + "\n  ".join(problems) + f"\nFix: {FIX}")


def check_id(record: RunRecord) -> str:
    """The check's id without the provider, so one matrix row and one baseline key fit every provider.

    The suite parametrizes each check by provider, so a pytest id such as
    `test_tool_call[neuron-tool_parallel-written]` carries the provider; the row is
    `test_tool_call[tool_parallel-written]`.
    """
    check, provider = record.check, record.provider
    for prefix in (f"[{provider}-", f"[{provider}]"):
        if prefix in check:
            replacement = "[" if prefix.endswith("-") else ""
            return check.replace(prefix, replacement, 1)
    return check


def _check_baseline_matches(state: GateState, record: RunRecord) -> None:
    baseline = state.baseline
    if baseline is None:
        return
    for key, expected, seen in (("provider", baseline.provider, record.provider), ("wire", baseline.wire, record.wire)):
        if expected is not None and expected != seen:
            pytest.exit(
                f"baseline {state.baseline_path} is for {key} {expected!r} but this run tests {key} {seen!r}; "
                "pass the baseline of this provider, or write one with --conformance-write-baseline",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )


def _failure_reason(record: RunRecord, call: pytest.CallInfo[None]) -> str:
    return one_line_reason(failure_message(record, call.excinfo))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return one_line_reason(str(longrepr[2]).removeprefix("Skipped: "))
    return one_line_reason(str(longrepr))


def _apply_baseline(state: GateState, record: RunRecord, report: pytest.TestReport) -> None:
    """Turn a listed failure into an expected failure, and a listed pass into a strict failure."""
    assert state.baseline is not None
    check = check_id(record)
    reason = state.baseline.reason_for(check)
    if reason is None:
        return
    if report.failed:
        report.outcome = "skipped"
        report.wasxfail = f"baseline: {reason}"  # type: ignore[attr-defined]
    elif report.passed and report.when == "call":
        state.newly_passing.append((check, reason))
        message = (
            f"[XPASS(strict)] {check} passed, but the baseline {state.baseline_path} lists it as a "
            f"known failure ({reason}). The provider fixed it: remove '{check}' from the baseline."
        )
        if state.baseline_strict:
            report.outcome = "failed"
            report.longrepr = message
        else:
            report.wasxfail = f"baseline: {reason}"  # type: ignore[attr-defined]


def _let_should_pass(state: GateState, record: RunRecord, report: pytest.TestReport, reason: str) -> None:
    """A failing `should` check is reported as an expected failure: it does not fail the run."""
    report.outcome = "skipped"
    report.wasxfail = f"severity should (fails the run with --conformance-strict): {reason}"  # type: ignore[attr-defined]
    state.not_gating.append((check_id(record), reason))


def _outcome(report: pytest.TestReport, originally_failed: bool) -> str:
    was_xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.skipped:
            return XFAILED if was_xfail else SKIPPED
        if report.passed:
            return XPASSED if was_xfail else PASSED
        return FAILED if originally_failed else XPASSED  # failed now but passed: strict XPASS
    if report.skipped:
        return XFAILED if was_xfail else SKIPPED
    return ERROR if report.failed else PASSED


def _record_result(
    state: GateState,
    item: pytest.Item,
    record: RunRecord,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    originally_failed: bool,
    severity: str,
    not_gating: bool,
) -> None:
    outcome = FAILED if not_gating else _outcome(report, originally_failed)
    if originally_failed:
        reason = _failure_reason(record, call)
        if report.when in ("setup", "call"):
            state.failing_now[check_id(record)] = reason
    elif outcome == SKIPPED:
        reason = _skip_reason(report)
        if is_not_applicable(reason):
            outcome = NOT_APPLICABLE
    elif outcome == XPASSED:
        reason = "in the baseline but passed: remove it from the baseline"
    else:
        reason = ""
    if outcome == XFAILED and hasattr(report, "wasxfail"):
        reason = one_line_reason(report.wasxfail) + (f" [{reason}]" if originally_failed else "")
    previous = state.results.get(item.nodeid)
    if report.when == "teardown":
        # A teardown only changes a cell that otherwise passed.
        if previous is None or previous.outcome != PASSED or outcome != ERROR:
            return
    elif report.when == "call" and previous is not None and previous.outcome != PASSED:
        return
    state.results[item.nodeid] = CheckResult(
        provider=record.provider,
        wire=record.wire,
        mode=record.mode,
        family=record.family,
        check=check_id(record),
        title=record.title,
        outcome=outcome,
        reason=reason,
        nodeid=item.nodeid,
        cassette=record.cassette,
        severity=severity,
    )


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # trylast makes this the innermost wrapper: outcomes are changed before Allure, JUnit and the
    # terminal see the report.
    report: pytest.TestReport = yield
    record = item.stash.get(RUN_RECORD_KEY, None)
    if record is None:
        return report
    state = item.config.stash[GATE_STATE_KEY]
    _check_baseline_matches(state, record)
    originally_failed = report.failed
    severity = item_severity(item)

    if allure_report.allure_active(item.config) and (report.when == "call" or not report.passed):
        if item.nodeid not in state.labelled and report.when != "teardown":
            state.labelled.add(item.nodeid)
            allure_report.label_check(record)
        if originally_failed:
            allure_report.attach_evidence(record)

    if (
        state.baseline is not None
        and report.when in ("setup", "call")
        and not item.config.option.runxfail
        and not hasattr(report, "wasxfail")  # the suite's own xfail marks stay the suite's
    ):
        _apply_baseline(state, record, report)

    not_gating = False
    if report.failed and originally_failed and report.when in ("setup", "call"):
        if severity == SHOULD and not state.severity_strict and not item.config.option.runxfail:
            _let_should_pass(state, record, report, _failure_reason(record, call))
            not_gating = True
        elif not state.long_failures and call.excinfo is not None:
            report.longrepr = short_failure(item, record, check_id(record), severity, call.excinfo, report.when)

    _record_result(state, item, record, report, call, originally_failed, severity, not_gating)
    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(GATE_STATE_KEY, None)
    if state is None or not state.results:
        return
    if state.write_baseline_path is not None:
        _write_current_baseline(state)
    if state.matrix_dir is not None:
        try:
            save_results(state.matrix_dir, list(state.results.values()), _now())
            results, runs = load_all_results(state.matrix_dir)
        except ResultsError as exc:
            state.report_error = f"matrix not written: {exc}"
            return
        matrix = build_matrix(results, runs)
        for name, text in (("matrix.md", render_markdown(matrix)), ("matrix.html", render_html(matrix))):
            path = state.matrix_dir / name
            path.write_text(text, encoding="utf-8")
            state.written.append(path)


def _write_current_baseline(state: GateState) -> None:
    assert state.write_baseline_path is not None
    targets = sorted({(r.provider, r.wire) for r in state.results.values()})
    if len(targets) > 1:
        # Check ids leave the provider out, so one file cannot hold several providers' failures.
        shown = ", ".join(f"{provider} ({wire})" for provider, wire in targets)
        state.report_error = (
            f"--conformance-write-baseline not written: a baseline holds one provider, this run tested {shown}; "
            "run once per --conformance-provider"
        )
        return
    kept = state.baseline.expected_failures if state.baseline else {}
    failures = {check: kept.get(check, reason) for check, reason in state.failing_now.items()}
    provider, wire = targets[0]
    write_baseline(state.write_baseline_path, Baseline(expected_failures=failures, provider=provider, wire=wire))
    state.written.append(state.write_baseline_path)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(GATE_STATE_KEY, None)
    if state is None:
        return
    write = terminalreporter.write_line
    if state.baseline is not None:
        seen = {result.check for result in state.results.values()}
        stale = sorted(set(state.baseline.expected_failures) - seen)
        if state.newly_passing or stale:
            terminalreporter.section("conformance baseline")
        for check, reason in state.newly_passing:
            verdict = "fails the run" if state.baseline_strict else "reported only (--conformance-baseline-report-only)"
            write(f"NOW PASSING {check} (baseline: {reason}); remove it from {state.baseline_path} [{verdict}]")
        for check in stale:
            write(f"NOT RUN {check}: listed in {state.baseline_path} but no check with this id ran (renamed, or deselected)")
    if state.not_gating:
        terminalreporter.section("conformance gate: should-level failures (not failing the run)", yellow=True)
        for check, reason in state.not_gating:
            write(f"SHOULD {check}: {reason}")
        write("--conformance-strict makes these fail the run")
    shared = _shared_check_ids(state)
    if shared:
        terminalreporter.section("conformance gate", yellow=True)
        for check, nodeids in shared.items():
            write(f"check id {check!r} is shared by {len(nodeids)} tests ({', '.join(nodeids[:3])}); "
                  "the matrix and baselines need one id per check")
    if state.report_error:
        write(f"conformance gate: {state.report_error}", red=True)
    for path in state.written:
        write(f"conformance gate wrote {path}")


def _shared_check_ids(state: GateState) -> dict[str, list[str]]:
    by_id: dict[tuple[str, str, str, str], list[str]] = {}
    for result in state.results.values():
        by_id.setdefault((result.provider, result.wire, result.mode, result.check), []).append(result.nodeid)
    return {key[3]: nodeids for key, nodeids in by_id.items() if len(nodeids) > 1}
