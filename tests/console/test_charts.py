"""Server-rendered SVG charts: scale, escaping, gaps."""

from __future__ import annotations

import re

from console.charts import Series, bar_chart, line_chart


def test_bars_are_scaled_to_a_round_top_and_say_their_value() -> None:
    svg = str(bar_chart("Calls per day", ["Mon", "Tue"], Series("calls", [30, 60])))
    heights = [float(h) for h in re.findall(r'class="chart-bar"[^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 2 and abs(heights[1] - 2 * heights[0]) < 0.2
    assert "Tue: 60" in svg and ">100<" in svg  # axis top rounds 60 up to 100


def test_caller_text_in_labels_is_escaped() -> None:
    svg = str(bar_chart("<b>", ["<script>x</script>"], Series("s", [1])))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_missing_value_breaks_the_line_and_draws_no_bar() -> None:
    line = str(line_chart("Mood", ["a", "b", "c"], [Series("mood", [1, None, 2])]))
    assert line.count("<polyline") == 2
    bars = str(bar_chart("CSAT", ["a", "b"], Series("csat", [None, 4])))
    assert bars.count('class="chart-bar"') == 1
