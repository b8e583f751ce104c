"""A failing check is one paragraph by default; baseline reasons are the root error, with relative paths.

The fake check fails the way the suite's checks do when a provider raises: the provider's error,
wrapped by the check (naming the cassette by its absolute path), wrapped again by the suite's
"never played" report.
"""

from __future__ import annotations

import json

import pytest

from conformance.wires import RECORDINGS_DIR
from tests.conformance.fake_suite import make_fake_suite

pytest_plugins = ["pytester"]

CHAINED = '''
import pytest
from conformance.evidence import RUN_RECORD_KEY, RunRecord
from conformance.wires import RECORDINGS_DIR

CASSETTE = f"{RECORDINGS_DIR}/openai-chat/text_basic.vllm.json"

@pytest.mark.parametrize("case", ["text_basic"])
def test_chained(request, case):
    request.node.stash[RUN_RECORD_KEY] = RunRecord(provider="fake", wire="openai-chat", family="errors",
                                                   check="stop.chained", cassette="text_basic.vllm")
    try:
        try:
            raise TypeError("create() got an unexpected keyword argument 'structured_outputs'")
        except TypeError as exc:
            raise AssertionError(f"fake.stream raised TypeError (cassette {CASSETTE}) after 0 events") from exc
    except AssertionError as exc:
        error = AssertionError(f"cassette {CASSETTE}: 1 interaction(s) never played, from #0")
        error.__cause__ = exc
        raise error
'''


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    return make_fake_suite(pytester, test_chained=CHAINED)


def failures_section(output: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(output) if "= FAILURES =" in line)
    end = next(i for i, line in enumerate(output) if "short test summary" in line or "conformance gate wrote" in line)
    return output[start + 1 : end]


def test_a_failure_is_one_paragraph_with_the_root_error_and_relative_cassette(suite: pytest.Pytester) -> None:
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    section = failures_section(result.outlines)
    assert section[1:] == [
        "stop.chained (must) | provider fake | case text_basic | cassette openai-chat/text_basic.vllm.json",
        "  TypeError: create() got an unexpected keyword argument 'structured_outputs'",
        "raised by the check as:",
        "  AssertionError: cassette openai-chat/text_basic.vllm.json: 1 interaction(s) never played, from #0",
        "(the full traceback: --conformance-long-failures or --tb=long)",
    ]
    assert str(RECORDINGS_DIR) not in result.stdout.str()


@pytest.mark.parametrize("option", ["--conformance-long-failures", "--tb=long"])
def test_the_long_form_comes_back_on_request(suite: pytest.Pytester, option: str) -> None:
    result = suite.runpytest(option)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*The above exception was the direct cause of the following exception*"])
    assert len(failures_section(result.outlines)) > 20


def test_a_baseline_reason_is_the_root_error_without_absolute_paths(suite: pytest.Pytester) -> None:
    suite.runpytest("--conformance-write-baseline", "baseline.json")
    reasons = json.loads((suite.path / "baseline.json").read_text())["expected_failures"]
    assert reasons == {"stop.chained": "TypeError: create() got an unexpected keyword argument 'structured_outputs'"}
