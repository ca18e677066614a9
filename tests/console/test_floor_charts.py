"""The floor's day in charts: calls and waits per hour, service level, moods, alerts per queue
and handled calls per agent counted from the store; on the page, and redrawn in Chromium while
the floor is open (the fragment is fetched again, no reload)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from console.supervisor import day
from store.models import Agent, Call, CallState, QueueEntry, utcnow
from store.supervision import AlertRow, TranscriptLine
from tests.console.conftest import Deployment, LiveConsole, sign_in
from tests.console.test_floor_browser import watch_floor

NOON = datetime(2026, 12, 2, 12, 30)


def titles(svg: str) -> list[str]:
    """The per-mark ``<title>`` texts (label: value) of a drawn chart."""
    return re.findall(r"<title>([^<]*: [0-9.]+)</title>", svg)


def seed(deployment: Deployment, at: datetime) -> None:
    with deployment.db.session() as session:
        alice = session.scalar(select(Agent.id).where(Agent.username == "alice"))
        for n, (hour, wait, state) in enumerate(
            [
                (9, 5, "connected"),
                (9, 40, "connected"),
                (11, 10, "connected"),
                (11, 90, "abandoned"),
            ]
        ):
            start = at.replace(hour=hour, minute=5)
            call_id = f"day-{n}"
            session.add(
                Call(
                    id=call_id,
                    caller="+39",
                    dialled="800",
                    state=CallState.ENDED,
                    started_at=start,
                    bridged_at=start + timedelta(seconds=wait) if state == "connected" else None,
                    agent_id=alice if state == "connected" else None,
                )
            )
            session.add(
                QueueEntry(
                    call_id=call_id,
                    queue="support",
                    kind="call",
                    state=state,
                    enqueued_at=start,
                    updated_at=start + timedelta(seconds=wait),
                )
            )
        for mood, hour in [("upset", 9), ("upset", 11), ("calm", 11), ("neutral", 12)]:
            session.add(
                TranscriptLine(
                    call_id="day-0", speaker="caller", text="…", mood=mood, at=at.replace(hour=hour)
                )
            )
        for queue in ["support", "support", "billing"]:
            session.add(
                AlertRow(
                    call_id="day-0", queue=queue, kind="topic", reason="r", at=at.replace(hour=10)
                )
            )


def test_the_days_charts_count_from_the_store(deployment: Deployment) -> None:
    seed(deployment, NOON)
    with deployment.db.session() as session:
        charts = {chart.key: chart for chart in day.charts(session, NOON)}
    assert list(charts) == ["calls", "waits", "service_level", "moods", "alerts", "handled"]
    assert "09: 2" in titles(charts["calls"].svg) and "11: 2" in titles(charts["calls"].svg)
    assert titles(charts["alerts"].svg) == ["billing: 1", "support: 2"]
    assert titles(charts["handled"].svg) == ["Alice Rossi: 3"]
    # service level: 09 one of two within 20 s; 11 one answered in 10 s, one abandoned
    level = str(charts["service_level"].svg)
    assert level.count("<polyline") == 2  # 09 and 11 are points, 10 breaks the line
    assert charts["moods"].legend == ("upset", "neutral", "calm")
    assert "<script" not in "".join(str(c.svg) for c in charts.values())


def test_the_floor_page_carries_the_charts_and_agents_cannot_fetch_them(
    deployment: Deployment,
) -> None:
    seed(deployment, utcnow())
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    page = client.get("/supervisor/")
    assert page.status_code == 200 and page.text.count('class="chart-card"') == 6
    fragment = client.get("/supervisor/charts")
    assert fragment.status_code == 200 and 'id="floor-charts"' in fragment.text
    agent = deployment.app.test_client()
    sign_in(agent, deployment, "alice")
    assert agent.get("/supervisor/charts").status_code == 403


@pytest.mark.browser
def test_the_charts_are_redrawn_on_the_open_floor(page: Any, live_console: LiveConsole) -> None:
    live = live_console
    watch_floor(page, live.url, live)
    bars = "document.querySelectorAll('[data-chart=alerts] rect.chart-bar').length"
    assert page.evaluate(bars) == 0
    with live.deployment.db.session() as session:
        session.add(AlertRow(call_id="c-1", queue="<b>vip</b>", kind="topic", reason="r"))
    page.evaluate("window.__marker = 'same page'")
    page.evaluate("window.centralinoRefreshCharts()")
    page.wait_for_function(f"{bars} === 1")
    label = page.text_content("[data-chart=alerts] text.chart-label")
    assert label == "<b>vip</b>"  # escaped by the server: text, not markup
    assert page.evaluate("window.__marker") == "same page"
    if shot := os.environ.get("CENTRALINO_SCREENSHOT"):
        page.screenshot(path=shot, full_page=True)
