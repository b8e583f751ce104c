"""The run report and the comparison page in a real headless Chromium: they load from a file, fetch
nothing, and draw every chart their run calls for with marks inside it.

The runs are real Locust runs against the embedded simulator (a normal run, one with injected
failures, a sweep and a capacity search), so the pages are built from what a run really writes.
Tiny runs (nothing finished, one request, every request failed) are built directly: they must still
render a page that says what happened. Needs Debian's `chromium`; without it the test fails with the
instruction, as the matrix page's browser test does.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from loadtests.report.files import RunData, write_report
from loadtests.runner.schedule import Stage
from tests.chromium import Chromium, headless_chromium

from ..conftest import ROOT, run_locust

DISTRIBUTIONS = ["latency-ttft", "latency-tpot", "latency-itl_token", "latency-e2e"]
OVER_TIME = ["ttft-over-time", "itl-over-time", "throughput-over-time", "ttft-by-concurrency"]
SHORT = ("-u", "8", "-r", "8", "--workload-mix", "chat=2,tool=1,json=1")
RUNS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    # run: (locust arguments, the charts its page must draw with data)
    "normal": ((*SHORT, "-t", "4s"), DISTRIBUTIONS + OVER_TIME),
    "failures": ((*SHORT, "-t", "4s", "--sim-fault-rate", "429=0.15,drop=0.15"), DISTRIBUTIONS + OVER_TIME),
    "sweep": ((*SHORT, "-t", "30s", "--sweep-users", "1,4", "--stage-s", "2", "--slo-ttft-ms", "500"),
              DISTRIBUTIONS + OVER_TIME + ["sweep-throughput", "sweep-latency", "sweep-errors"]),
    "capacity": ((*SHORT, "-t", "30s", "--find-max-rate", "--slo-ttft-ms", "500", "--stage-s", "1.5",
                  "--capacity-max-steps", "3"), ["capacity-goodput", "capacity-latency", *DISTRIBUTIONS, *OVER_TIME]),
}

CHARTS = """Array.from(document.querySelectorAll('figure[data-chart]')).map(f => {
  const svg = f.querySelector('svg');
  const drawn = Array.from(f.querySelectorAll('svg .mark')).filter(m => { const b = m.getBBox(); return b.width + b.height > 0; });
  return {name: f.dataset.chart, marks: drawn.length, events: f.querySelectorAll('svg .mark.event').length,
          title: svg ? svg.querySelector('title').textContent : '', label: svg ? svg.getAttribute('aria-label') : '',
          width: svg ? svg.getBoundingClientRect().width : 0, empty: f.classList.contains('empty')};
})"""
FETCHERS = "document.querySelectorAll('script, link, img, iframe, object, embed, [src], [href]').length"


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        chromium.send("Network.enable")
        yield chromium


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    def one(name: str) -> tuple[str, Path]:
        run = run_locust("vllm", tmp_path_factory.mktemp(name), *RUNS[name][0], timeout=90)
        assert run.summary is not None, run.output[-3000:]
        return name, run.outdir

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, RUNS))


def load(browser: Chromium, page: Path) -> list[dict[str, Any]]:
    """Open the page; check it fetched nothing and every chart is titled and described; return its charts."""
    browser.navigate(page.as_uri())
    requested = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert requested == [page.as_uri()], requested  # the page itself, nothing else
    assert browser.evaluate("performance.getEntriesByType('resource').length") == 0
    assert browser.evaluate(FETCHERS) == 0
    assert "NaN" not in browser.evaluate("document.body.innerText")
    charts = browser.evaluate(CHARTS)
    for c in charts:
        assert c["empty"] or (c["title"] and c["title"] in c["label"] and c["width"] > 0), c
    return charts


def drawn(charts: list[dict[str, Any]]) -> dict[str, int]:
    return {c["name"]: c["marks"] for c in charts if not c["empty"]}


@pytest.mark.parametrize("name", list(RUNS))
def test_the_run_page_draws_every_chart_of_its_run(browser: Chromium, runs: dict[str, Path], name: str) -> None:
    charts = load(browser, runs[name] / "report.html")
    marks = drawn(charts)
    missing = [c for c in RUNS[name][1] if not marks.get(c)]
    assert not missing, f"charts without marks: {missing}; drawn: {marks}"
    if name == "failures":
        over_time = {c["name"]: c["events"] for c in charts}
        assert over_time["ttft-over-time"] > 0 and over_time["itl-over-time"] > 0  # failures marked at their time
    if name == "normal":
        assert browser.evaluate("document.querySelectorAll('#timing-error tr').length") == 3  # header, TTFT, ITL


def test_the_compare_page_draws_the_changes_and_both_distributions(browser: Chromium, runs: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    subprocess.run([sys.executable, "-m", "loadtests.compare", str(runs["normal"]), str(runs["failures"]), "--html", str(page)],
                   cwd=ROOT, capture_output=True, check=False, timeout=60)
    marks = drawn(load(browser, page))
    assert marks["changes"] > 0
    assert all(marks.get(c) == 2 for c in ("latency-ttft", "latency-tpot", "latency-itl", "latency-e2e")), marks  # A and B


def _record(i: int, ok: bool) -> dict[str, Any]:
    rec: dict[str, Any] = {"workload": "chat", "ok": ok, "t_send": 1000.0 + i, "t_end": 1000.4 + i, "users": 1}
    if ok:
        rec |= {"ttft_ms": 40.0, "e2e_ms": 400.0, "tpot_ms": 0.0, "output_tokens": 1, "chunks": 1}
    else:
        rec |= {"error_kind": "dropped", "error": "the server closed the connection"}
    return rec


@pytest.mark.parametrize(("records", "says"), [
    ([], "No request finished in this run"),
    ([_record(0, True)], "One request succeeded"),
    ([_record(i, False) for i in range(3)], "No request succeeded"),
], ids=["nothing-finished", "one-request", "all-failed"])
def test_a_tiny_run_still_renders_a_page_that_says_so(browser: Chromium, tmp_path: Path, records: list[dict[str, Any]], says: str) -> None:
    run = RunData(scenario="vllm", target="http://x", api="chat", mode="closed", stages=[Stage(5.0, users=1)], slo={},
                  slo_percentile=99.0, max_error_rate=0.0, lag_budget_ms=100.0)
    for rec in records:
        run.totals.add(rec)
        if rec["ok"]:
            for metric in ("ttft", "e2e", "tpot"):
                run.hists.record(["all", "wl:chat"], metric, rec[f"{metric}_ms"])
    write_report(run, tmp_path)
    charts = load(browser, tmp_path / "report.html")
    assert says in browser.evaluate("document.getElementById('empty-run').textContent")
    assert charts  # the distributions are there, drawn or saying "no data"
    if not any(rec["ok"] for rec in records):
        assert all(c["empty"] for c in charts if c["name"].startswith("latency-"))
    if records and not records[0]["ok"]:
        assert {c["name"]: c["events"] for c in charts}["ttft-over-time"] == 3
