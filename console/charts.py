"""Charts as inline SVG rendered on the server: bar and line charts every page can embed.

No script and no CDN: a chart is markup (CSP-safe), its labels escaped like any other text,
its numbers also given as a `<title>` per mark so a reader can hover and a test can read them.
Pages style the marks through the classes `chart`, `chart-bar`, `chart-line`, `chart-axis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 44
MARGIN_BOTTOM = 36
MARGIN_TOP = 12
MARGIN_RIGHT = 12


@dataclass(frozen=True)
class Series:
    """One named run of values, one per label of the chart."""

    name: str
    values: Sequence[float | None]


def _scale_top(values: Sequence[float]) -> float:
    """A round axis top at or above the largest value (1, 2 or 5 times a power of ten)."""
    top = max((v for v in values), default=0.0)
    if top <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= top:
        step *= 10
    while step > top:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= top:
            return step * factor
    return step * 10


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _frame(title: str, labels: Sequence[str], top: float) -> list[str]:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0.0, 0.5, 1.0):
        y = MARGIN_TOP + plot_h * (1 - tick)
        parts.append(
            f'<line class="chart-axis" x1="{MARGIN_LEFT}" y1="{y:.1f}" '
            f'x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}"/>'
            f'<text class="chart-tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_number(top * tick))}</text>'
        )
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(len(labels), 1)
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = MARGIN_LEFT + slot * (i + 0.5)
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def bar_chart(title: str, labels: Sequence[str], series: Series) -> Markup:
    """One bar per label; a missing value (None) draws no bar."""
    present = [float(v) for v in series.values if v is not None]
    top = _scale_top(present)
    parts = _frame(title, labels, top)
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(len(labels), 1)
    for i, (label, value) in enumerate(zip(labels, series.values, strict=True)):
        if value is None:
            continue
        h = plot_h * float(value) / top
        x = MARGIN_LEFT + slot * i + slot * 0.15
        parts.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{MARGIN_TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {escape(_number(float(value)))}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """One polyline per series over the labels; None breaks the line."""
    present = [float(v) for s in series for v in s.values if v is not None]
    top = _scale_top(present)
    parts = _frame(title, labels, top)
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(len(labels), 1)
    for n, one in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            x = MARGIN_LEFT + slot * (i + 0.5)
            y = MARGIN_TOP + plot_h * (1 - float(value) / top)
            runs[-1].append(f"{x:.1f},{y:.1f}")
        for run in runs:
            if run:
                parts.append(
                    f'<polyline class="chart-line chart-series-{n % 6}" fill="none" '
                    f'points="{" ".join(run)}"><title>{escape(one.name)}</title></polyline>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))
