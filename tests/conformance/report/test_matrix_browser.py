"""The matrix page in a real headless Chromium: it loads from a file, shows the matrix, and filters.

Needs Debian's `chromium` (installed by `scripts/install-system-deps.sh`); without it the test fails
with that instruction rather than skipping, because a page nobody loaded is a claim nobody checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.chromium import Chromium, headless_chromium

from conformance.report import CheckResult, build_matrix, render_html


def result(provider: str, family: str, check: str, outcome: str, reason: str = "") -> CheckResult:
    return CheckResult(
        provider=provider, wire="openai-chat", mode="replay", family=family, check=check,
        title=f"{check} title", outcome=outcome, reason=reason,
    )


RESULTS = [
    result("neuron", "event_grammar", "grammar.text", "passed"),
    result("neuron", "stop_reasons", "stop.length", "passed"),
    result("neuron", "errors", "errors.overflow", "passed"),
    result("acme", "event_grammar", "grammar.text", "passed"),
    result("acme", "stop_reasons", "stop.length", "failed", "event 3 (messageStop): expected 'max_tokens', got 'end_turn'"),
    result("acme", "errors", "errors.overflow", "xfailed", "baseline: overflow raised as APIError"),
]
NEURON, ACME = "neuron (openai-chat, replay)", "acme (openai-chat, replay)"

VISIBLE_ROWS = """Array.from(document.querySelectorAll('#matrix tbody tr'))
  .filter(r => !r.hidden && getComputedStyle(r).display !== 'none').map(r => r.dataset.check)"""
VISIBLE_COLUMNS = """Array.from(document.querySelectorAll('#matrix thead th[data-col]'))
  .filter(c => getComputedStyle(c).display !== 'none').map(c => c.textContent)"""


def choose_family(browser: Chromium, family: str) -> None:
    browser.evaluate(
        f"(() => {{ const s = document.getElementById('family-filter'); s.value = {family!r};"
        "s.dispatchEvent(new Event('change')); })()"
    )


def click(browser: Chromium, selector: str) -> None:
    browser.evaluate(f"document.querySelector({selector!r}).click()")


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(tmp_path: Path) -> str:
    path = tmp_path / "matrix.html"
    path.write_text(render_html(build_matrix(RESULTS)), encoding="utf-8")
    return path.as_uri()


def test_the_page_loads_offline_and_shows_the_matrix(browser: Chromium, page: str) -> None:
    browser.navigate(page)
    assert browser.evaluate("document.title") == "Conformance matrix"
    assert browser.evaluate(VISIBLE_COLUMNS) == [ACME, NEURON]
    assert browser.evaluate(VISIBLE_ROWS) == ["grammar.text", "stop.length", "errors.overflow"]
    cell = browser.evaluate(
        """(() => { const c = document.querySelector('tr[data-check="stop.length"] td[data-col="0"]');
        return [c.textContent, c.title, getComputedStyle(c).backgroundColor]; })()"""
    )
    assert cell == ["✗", "failed: event 3 (messageStop): expected 'max_tokens', got 'end_turn'", "rgb(253, 226, 225)"]
    assert browser.evaluate("document.getElementById('shown-count').textContent") == "3 of 3 checks shown, 2 of 2 providers"
    reasons = browser.evaluate("Array.from(document.querySelectorAll('#reasons tbody tr')).map(r => r.cells[2].textContent)")
    assert reasons == ["stop.length", "errors.overflow"]
    # Self-contained: nothing but the page itself was requested.
    assert browser.evaluate("performance.getEntriesByType('resource').length") == 0


def test_filtering_by_family_provider_and_failing_rows(browser: Chromium, page: str) -> None:
    browser.navigate(page)
    choose_family(browser, "stop_reasons")
    assert browser.evaluate(VISIBLE_ROWS) == ["stop.length"]
    click(browser, '#provider-filter input[value="0"]')  # hide acme
    assert browser.evaluate(VISIBLE_COLUMNS) == [NEURON]
    assert browser.evaluate("document.getElementById('shown-count').textContent") == "1 of 3 checks shown, 1 of 2 providers"
    assert browser.evaluate("Array.from(document.querySelectorAll('#reasons tbody tr')).filter(r => !r.hidden).length") == 0

    choose_family(browser, "")
    click(browser, "#failing-filter")
    assert browser.evaluate(VISIBLE_ROWS) == []  # neuron passes everything
    click(browser, '#provider-filter input[value="0"]')  # show acme again
    assert browser.evaluate(VISIBLE_ROWS) == ["stop.length", "errors.overflow"]


def test_a_filtered_view_survives_a_reload_through_its_link(browser: Chromium, page: str) -> None:
    browser.navigate(page)
    click(browser, '#provider-filter input[value="1"]')  # hide neuron
    choose_family(browser, "errors")
    link = browser.evaluate("location.href")
    assert "#provider=acme" in link and "family=errors" in link
    browser.navigate("about:blank")
    browser.navigate(link)
    assert browser.evaluate(VISIBLE_COLUMNS) == [ACME]
    assert browser.evaluate(VISIBLE_ROWS) == ["errors.overflow"]
