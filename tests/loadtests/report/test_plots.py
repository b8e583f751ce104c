"""The chart helper: 1-2-5 ticks a person reads, log axes that survive zero and negative values, a text alternative."""

from __future__ import annotations

import math
import re

from loadtests.report.plots import Events, Series, chart, distribution, percentile_of, tick_label


def ticks(svg: str) -> list[str]:
    """The tick labels of the x axis (drawn below the plot) in order."""
    return re.findall(r'<text class="tick-x"[^>]*>([^<]+)</text>', svg)


def test_a_log_axis_is_ticked_at_1_2_5_steps_in_ms_and_covers_the_data():
    svg = distribution("latency-ttft", "TTFT", [("chat", percentile_of([0.7, 3.0, 45.0, 130.0]))], "TTFT, ms")
    assert ticks(svg) == ["0.5", "1", "2", "5", "10", "20", "50", "100", "200"]
    assert "TTFT, ms (log scale)" in svg and "% of requests at or below" in svg


def test_a_wide_log_axis_keeps_only_decades_and_labels_thousands_as_k():
    svg = chart("c", "wide", [Series("s", [(0.001, 1.0), (5000.0, 2.0)])], "x, ms", "y", logx=True)
    assert ticks(svg) == ["0.001", "0.01", "0.1", "1", "10", "100", "1k", "10k"]
    assert [tick_label(v) for v in (0.30000000000000004, 1500.0, 2e6)] == ["0.3", "1.5k", "2M"]


def test_zero_negative_and_nan_values_are_left_out_of_a_log_axis_and_counted():
    svg = chart("c", "mixed", [Series("s", [(1.0, 0.0), (2.0, -3.0), (3.0, math.nan), (4.0, 10.0), (5.0, 20.0)])],
                "seconds", "ms", logy=True)
    assert svg.count('class="mark"') == 1 and "3 points not shown" in svg
    assert "nan" not in svg.lower()


def test_a_chart_with_nothing_to_show_says_so_instead_of_drawing_an_empty_frame():
    assert "no data (nothing was measured)" in chart("c", "none", [Series("s", [])], "x", "y")
    assert "all 2 points zero, negative or not a number" in chart("c", "zeros", [Series("s", [(1, 0), (2, 0)])], "x", "y", logy=True)


def test_every_chart_has_a_title_a_text_alternative_and_escaped_names():
    svg = chart("over-time", "TTFT <over> time", [Series("a&b", [(0.0, 1.0), (1.0, 2.0)])], "seconds", "ms",
                events=[Events("failed: dropped", [0.5, 0.7])])
    assert 'data-chart="over-time"' in svg and "<title>TTFT &lt;over&gt; time</title>" in svg
    assert 'aria-label="TTFT &lt;over&gt; time. ms against seconds. a&amp;b: 2 points; marked under the x axis: failed: dropped (2)."' in svg
    assert svg.count('class="mark event"') == 2 and "failed: dropped (2)" in svg


def test_a_distribution_says_which_share_of_requests_sits_at_zero():
    svg = distribution("latency-tpot", "TPOT", [("json", percentile_of([0.0, 0.0, 5.0, 6.0, 7.0]))], "TPOT, ms")
    assert "json (40% at 0)" in svg and svg.count('class="mark"') == 1
