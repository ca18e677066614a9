"""The floor in Chromium: a call and its alert appear without a reload, caller text stays
text, an alert is acknowledged from the page, and alerts are still there after the console
restarts (they are stored)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.models import Agent, Call, CallState, utcnow
from store.supervision import AlertRow, TranscriptLine
from tests.console.conftest import LiveConsole, console_app, serve_threaded

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def watch_floor(page: Any, url: str, live: LiveConsole) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "sara")
    page.fill("input[name=password]", live.deployment.password("sara"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/supervisor/")
    page.wait_for_selector("#floor[data-live=yes]")


def test_a_call_and_its_alert_reach_the_floor_without_a_reload(
    page: Any, live_console: LiveConsole
) -> None:
    live = live_console
    watch_floor(page, live.url, live)
    page.evaluate("window.__marker = 'same page'")
    db = live.deployment.db
    with db.session() as session:
        session.add(Call(id="c-9", caller=XSS, dialled="800", state=CallState.IVR))
    page.wait_for_selector("#floor-calls tr[data-call-id='c-9']")
    with db.session() as session:
        session.add(TranscriptLine(call_id="c-9", speaker="caller", text=XSS, mood="upset"))
        session.add(
            AlertRow(
                call_id="c-9",
                queue="support",
                kind="topic",
                reason="caller said “해지”",
                words=["해지하고"],
                detail={},
            )
        )
    page.wait_for_selector("#alerts li[data-kind=topic].open")
    assert "해지하고" in page.text_content("#alerts li[data-kind=topic] q")
    assert page.get_attribute("#alerts li[data-kind=topic] a", "href") == "#call-c-9"
    page.wait_for_function(
        "document.querySelector(\"#call-c-9 td.lines\").textContent.includes('window.__xss')"
    )
    assert page.text_content("#call-c-9 td.mood") == "upset"
    assert page.evaluate("window.__xss") is None and page.evaluate("window.__marker") == "same page"
    page.click("#alerts li[data-kind=topic] button.ack")
    page.wait_for_selector("#alerts li[data-kind=topic].acknowledged")
    with db.session() as session:
        sara = session.scalar(select(Agent.id).where(Agent.username == "sara"))
        assert session.scalars(select(AlertRow.acknowledged_by)).all() == [sara]
    with db.session() as session:  # the call ends: it leaves the floor, its alert stays
        session.query(Call).filter_by(id="c-9").update(
            {"state": CallState.ENDED, "ended_at": utcnow()}
        )
    page.wait_for_selector("#floor-calls tr[data-call-id='c-9']", state="detached")
    assert page.locator("#alerts li[data-kind=topic]").count() == 1


def test_alerts_survive_a_console_restart(page: Any, live_console: LiveConsole) -> None:
    live = live_console
    with live.deployment.db.session() as session:
        session.add(
            AlertRow(
                call_id="c-7",
                queue="support",
                kind="upset",
                reason="caller sounds upset",
                words=["terrible"],
                detail={},
            )
        )
    app = console_app(live.deployment.db)  # another console process on the same database
    server, url = serve_threaded(app)
    try:
        watch_floor(page, url, live)
        page.wait_for_selector("#alerts li[data-kind=upset].open")
        assert "terrible" in page.text_content("#alerts li[data-kind=upset]")
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["centralino.worker_feed"].stop()
        app.extensions["centralino.db"].dispose()


def test_a_full_worker_is_said_plainly_on_the_floor(page: Any, live_console: LiveConsole) -> None:
    from store.models import Worker

    live = live_console
    with live.deployment.db.session() as session:
        worker = session.scalars(select(Worker).where(Worker.name == live.worker.name)).one()
        session.add(
            Call(
                id="c-5",
                caller="+3902",
                dialled="800",
                state=CallState.BRIDGED,
                worker_id=worker.id,
            )
        )
    live.worker.answers["monitor"] = (503, {"error": "no room"})
    watch_floor(page, live.url, live)
    page.click("#call-c-5 button[data-mode=listen]")
    page.wait_for_selector("#monitor-status[data-status='503']")
    assert page.text_content("#monitor-status") == (
        "the call's worker has no room for another leg right now"
    )
    assert page.locator("#floor-calls tr[data-call-id='c-5']").count() == 1
    assert [action for _call, action, _body in live.worker.actions] == ["monitor"]
