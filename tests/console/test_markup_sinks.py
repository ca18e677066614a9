"""Caller data reaches pages only as text: no HTML sinks in the console's scripts, no escaping
switched off in its templates (the browser tests show hostile data rendering inert)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"
SCRIPT_SINKS = re.compile(
    r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function"
)
TEMPLATE_SINKS = re.compile(r"\|\s*safe\b|Markup\s*\(|autoescape\s+false", re.IGNORECASE)


def sources(pattern: str) -> list[Path]:
    found = sorted(CONSOLE.rglob(pattern))
    assert found, f"no {pattern} under {CONSOLE}"
    return found


@pytest.mark.parametrize("path", sources("*.js"), ids=lambda p: p.name)
def test_scripts_write_text_never_markup(path: Path) -> None:
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SCRIPT_SINKS.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize("path", sources("*.html"), ids=lambda p: p.name)
def test_templates_keep_autoescaping(path: Path) -> None:
    assert TEMPLATE_SINKS.search(path.read_text()) is None


#: The one module that builds markup: its SVG charts escape every text they are given
#: (labels, titles, series names) and format every number themselves
#: (tests/console/test_charts.py renders hostile labels inert).
BUILDS_MARKUP = {CONSOLE / "charts.py"}


def test_python_never_marks_text_safe() -> None:
    for path in sources("*.py"):
        if path in BUILDS_MARKUP:
            continue
        assert TEMPLATE_SINKS.search(path.read_text()) is None, path


def test_the_chart_module_escapes_every_text_it_places() -> None:
    source = (CONSOLE / "charts.py").read_text()
    placed = re.findall(r"\{(?!escape\()([a-z_]+)\}", source)  # bare names in f-strings
    texts = {"title", "label", "name"}
    assert not texts & set(placed), placed
