"""One inline-SVG chart helper for the load-test pages (a run's report and the comparison of two runs).

A page is read offline and attached to CI runs, so a chart is plain SVG inside the HTML: no script,
no font, nothing fetched. Drawing every chart through `chart` gives each the same promises: a title,
axis labels with their units, a text alternative (`<title>` and `<desc>`, read by screen readers and
shown as a tooltip), ticks at 1-2-5 steps, and a log axis that survives values a log cannot take
(zero or negative values are left out and the chart says how many). Each data mark carries the class
`mark` and each chart a `data-chart` name, so a browser test can count what a chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
EVENT_COLORS = ("#b00000", "#ff7f0e", "#7f3fbf", "#555555", "#8c564b", "#e377c2")
WIDTH, HEIGHT = 600, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 150, 30, 46
_RUG = 10  # height of the strip under the plot where events (failures) are marked


@dataclass
class Series:
    """A named set of (x, y) points, drawn as a line (in x order as given) or as dots."""

    name: str
    points: list[tuple[float, float | None]]
    dots: bool = False


@dataclass
class Events:
    """Moments without a value (failed requests of one kind), marked as ticks on the x axis."""

    name: str
    xs: list[float] = field(default_factory=list)


@dataclass
class _Axis:
    lo: float
    hi: float
    log: bool
    ticks: list[float]

    def fraction(self, v: float) -> float:
        if self.log:
            return (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)


def step_125(rough: float) -> float:
    """The 1, 2 or 5 times a power of ten at or above `rough`."""
    exponent = math.floor(math.log10(rough))
    for m in (1, 2, 5, 10):
        if m * 10 ** exponent >= rough * (1 - 1e-9):
            return m * 10 ** exponent
    return 10 ** (exponent + 1)


def _log_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    multiples = (1, 2, 5) if last - first <= 4 else (1,)  # wide ranges: decades only, or labels collide
    candidates = [m * 10.0 ** e for e in range(first, last + 1) for m in multiples]
    low = max((t for t in candidates if t <= lo * (1 + 1e-9)), default=candidates[0])
    high = min((t for t in candidates if t >= hi * (1 - 1e-9)), default=candidates[-1])
    if high <= low:
        high = next((t for t in candidates if t > low), low * 10)
    return low, high, [t for t in candidates if low <= t <= high]


def _linear_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    lo = min(lo, 0.0)  # a linear axis of amounts starts at zero
    if hi <= lo:
        hi = lo + 1.0
    step = step_125((hi - lo) / 5)
    low, high = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    count = round((high - low) / step)
    return low, high, [low + i * step for i in range(count + 1)]


def _axis(values: Sequence[float], log: bool) -> _Axis:
    lo, hi = min(values), max(values)
    low, high, ticks = _log_ticks(lo, hi) if log else _linear_ticks(lo, hi)
    return _Axis(low, high, log, ticks)


def tick_label(v: float) -> str:
    """A tick's number as a person writes it: 0.5, 20, 1k, 2M (never 1e+03 or 0.30000000000000004)."""
    v = round(v, 9)
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:g}{suffix}"
    return f"{v:g}"


def _plottable(v: float | None, log: bool) -> bool:
    return v is not None and math.isfinite(v) and (v > 0 or not log)


def figure(slug: str, title: str, svg_body: str, description: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """Wrap drawn SVG in a named figure with its title and text alternative."""
    label = escape(f"{title}. {description}")
    return (f'<figure class="chart" data-chart="{escape(slug)}">'
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
            f'<title>{escape(title)}</title><desc>{escape(description)}</desc>'
            f'<text x="{width / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>'
            f"{svg_body}</svg></figure>")


def no_data(slug: str, title: str, why: str) -> str:
    return f'<figure class="chart empty" data-chart="{escape(slug)}"><figcaption><b>{escape(title)}</b>: no data ({escape(why)})</figcaption></figure>'


def chart(slug: str, title: str, series: Sequence[Series], xlabel: str, ylabel: str, *, logx: bool = False,
          logy: bool = False, events: Sequence[Events] = (), empty: str = "nothing was measured") -> str:
    """A line or dot chart; `events` are ticks under the x axis. Axis labels carry their units."""
    kept = [Series(s.name, [(x, y) for x, y in s.points if _plottable(x, logx) and _plottable(y, logy)], s.dots)
            for s in series]
    left_out = sum(len(s.points) for s in series) - sum(len(k.points) for k in kept)
    kept = [s for s in kept if s.points]
    events = [Events(e.name, [x for x in e.xs if _plottable(x, logx)]) for e in events]
    events = [e for e in events if e.xs]
    if not kept and not events:
        return no_data(slug, title, f"all {left_out} points zero, negative or not a number" if left_out else empty)
    xs = [x for s in kept for x, _ in s.points] + [x for e in events for x in e.xs]
    ys = [y for s in kept for _, y in s.points] or [1.0]
    ax, ay = _axis(xs, logx), _axis(ys, logy)  # type: ignore[arg-type]
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM - _RUG
    px: Callable[[float], float] = lambda v: _LEFT + ax.fraction(v) * plot_w  # noqa: E731
    py: Callable[[float], float] = lambda v: _TOP + (1 - ay.fraction(v)) * plot_h  # noqa: E731
    base = _TOP + plot_h
    parts = [f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>']
    for t in ay.ticks:
        parts.append(f'<line x1="{_LEFT}" y1="{py(t):.1f}" x2="{_LEFT + plot_w}" y2="{py(t):.1f}" stroke="#e4e4e4"/>'
                     f'<text x="{_LEFT - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{tick_label(t)}</text>')
    for t in ax.ticks:
        parts.append(f'<line x1="{px(t):.1f}" y1="{_TOP}" x2="{px(t):.1f}" y2="{base}" stroke="#f0f0f0"/>'
                     f'<text class="tick-x" x="{px(t):.1f}" y="{base + _RUG + 14}" text-anchor="middle">{tick_label(t)}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(xlabel)}</text>'
                 f'<text x="14" y="{_TOP + plot_h / 2}" transform="rotate(-90 14 {_TOP + plot_h / 2})" '
                 f'text-anchor="middle">{escape(ylabel)}</text>')
    legend: list[tuple[str, str]] = []
    for k, s in enumerate(kept):
        color = COLORS[k % len(COLORS)]
        name = escape(s.name)
        if s.dots:
            parts += [f'<circle class="mark" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{color}" fill-opacity="0.55">'  # type: ignore[arg-type]
                      f"<title>{name}</title></circle>" for x, y in s.points]
        else:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)  # type: ignore[arg-type]
            parts.append(f'<polyline class="mark" fill="none" stroke="{color}" stroke-width="1.6" points="{path}"><title>{name}</title></polyline>')
            if len(s.points) < 20:  # few points: show where each measurement is
                parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>' for x, y in s.points]  # type: ignore[arg-type]
        legend.append((color, s.name))
    for k, e in enumerate(events):
        color = EVENT_COLORS[k % len(EVENT_COLORS)]
        parts += [f'<line class="mark event" x1="{px(x):.1f}" y1="{base + 1}" x2="{px(x):.1f}" y2="{base + _RUG}" '
                  f'stroke="{color}" stroke-width="1.5"><title>{escape(e.name)}</title></line>' for x in e.xs]
        legend.append((color, f"\u25ae {e.name} ({len(e.xs)})"))
    for k, (color, name) in enumerate(legend):
        parts.append(f'<text x="{WIDTH - _RIGHT + 8}" y="{_TOP + 14 * k + 10}" fill="{color}">{escape(name)}</text>')
    scale = ", ".join(f"{axis} on a log scale" for axis, on in (("x", logx), ("y", logy)) if on)
    described = "; ".join(f"{s.name}: {len(s.points)} points" for s in kept)
    if events:
        described += "; marked under the x axis: " + ", ".join(f"{e.name} ({len(e.xs)})" for e in events)
    if left_out:
        described += f"; {left_out} points not shown (zero or negative on a log axis, or not a number)"
        parts.append(f'<text x="{WIDTH - _RIGHT + 8}" y="{HEIGHT - 6}" font-size="10" fill="#777">{left_out} not shown (&#8804; 0)</text>')
    description = f"{ylabel} against {xlabel}{' (' + scale + ')' if scale else ''}. {described}."
    return figure(slug, title, "".join(parts), description)


CDF_PERCENTILES = (0.0, 1, 2.5, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 100.0)


def distribution(slug: str, title: str, curves: Sequence[tuple[str, Callable[[float], float]]], xlabel: str) -> str:
    """Cumulative distributions on a log x axis: for each curve, the share of requests at or below each value.

    A curve is a name and its percentile function (a histogram's, or one over a sorted list), so the
    run page and the comparison draw distributions the same way whatever holds the values.
    """
    series = []
    for name, at in curves:
        points = [(at(p), p) for p in CDF_PERCENTILES]
        at_zero = max((p for v, p in points if v <= 0), default=None)  # a log axis cannot show them: say how many
        series.append(Series(name if at_zero is None else f"{name} ({at_zero:g}% at 0)", points))
    return chart(slug, title, series, f"{xlabel} (log scale)", "% of requests at or below", logx=True)


def percentile_of(values: Sequence[float]) -> Callable[[float], float]:
    """The nearest-rank percentile function of a list of values (which it sorts once)."""
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    return at
