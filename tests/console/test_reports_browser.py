"""The reports page in Chromium: the scripted calls' figures in the table and the charts, the
per-day grouping chosen from the form, and the CSV the page links to matching the table."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tests.console.conftest import LiveConsole
from tests.console.test_reports import QUERY, scripted_floor


def test_reports_render_the_scripted_figures_and_export_them(
    page: Any, live_console: LiveConsole, tmp_path: Path
) -> None:
    live = live_console
    scripted_floor(live.deployment)
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", live.deployment.password("admin"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/**")
    page.goto(f"{live.url}/reports/?by=agent&{QUERY}")
    cells = page.eval_on_selector_all(
        "#report tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert cells[0] == ["Alice Rossi", "2", "2", "65", "65", "1.0", "1.0", "50", "—", "0.80",
                        "100"]
    assert page.locator("svg.chart").count() == 3
    assert page.text_content("svg.chart rect.chart-bar title") == "Alice Rossi: 2"
    page.select_option("select[name=by]", "day")
    page.click("#report-form button[type=submit]")
    page.wait_for_url("**by=day**")
    days = page.eval_on_selector_all("#report tbody tr td:first-child",
                                     "cells => cells.map(c => c.textContent)")
    assert days == ["2026-03-02", "2026-03-03"]
    shown = page.eval_on_selector_all(
        "#report tbody tr, #report tfoot tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = list(csv.reader(io.StringIO(text)))
    assert exported[1:] == shown
    picture = tmp_path / "reports.png"  # kept with the test's files, for a person to look at
    page.screenshot(path=str(picture), full_page=True)
    print("screenshot:", picture)
