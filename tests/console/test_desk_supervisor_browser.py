"""The agent's desk in Chromium shows that a supervisor is on the call as the deployment's
policy says: always (listen, whisper, barge), only when heard (whisper, barge), or never; it
goes when the supervisor leaves or the call ends, and a desk opened mid-session shows it too."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from console.presence import PRESENCE_KEY
from console.testing.browser import become_available, sign_in_agent
from store.models import Agent, Setting
from store.supervision import MonitorSession
from tests.console.conftest import LiveConsole
from tests.console.test_desk_browser import ring

pytestmark = pytest.mark.browser


def policy(live: LiveConsole, shown: str) -> None:
    with live.deployment.db.session() as session:
        session.merge(Setting(key=PRESENCE_KEY, value={"shown": shown}))


def monitor_event(live: LiveConsole, call_id: str, kind: str, mode: str | None = None) -> None:
    event: dict[str, Any] = {"type": kind, "call_id": call_id, "leg_id": f"{call_id}/3"}
    if mode:
        event["mode"] = mode
    live.worker.emit(event)


def shown(page: Any, mode: str) -> None:
    page.wait_for_selector(f"#supervisor-presence[data-mode='{mode}']:not([hidden])")


def hidden(page: Any) -> None:
    page.wait_for_selector("#supervisor-presence[hidden]", state="attached")


def test_the_desk_shows_a_supervisor_as_the_policy_says(
    page: Any, live_console: LiveConsole
) -> None:
    live = live_console
    sign_in_agent(page, live.url, "alice", live.deployment.password("alice"))
    become_available(page)
    with live.deployment.db.session() as session:
        alice = session.scalar(select(Agent.id).where(Agent.username == "alice"))
    assert alice is not None
    call_id = ring(live, alice, None)
    page.wait_for_selector("#pop:not([hidden])")
    hidden(page)
    monitor_event(live, call_id, "monitor.started", "listen")  # policy unset: always
    shown(page, "listen")
    assert "listening" in page.text_content("#supervisor-presence")
    monitor_event(live, call_id, "monitor.mode", "whisper")
    shown(page, "whisper")
    monitor_event(live, call_id, "monitor.ended")
    hidden(page)

    policy(live, "heard")  # read per event: no restart
    monitor_event(live, call_id, "monitor.started", "listen")
    monitor_event(live, call_id, "monitor.mode", "barge")
    shown(page, "barge")  # listen was not shown; barge is heard, so it is
    assert "you and the caller hear them" in page.text_content("#supervisor-presence")
    monitor_event(live, call_id, "monitor.mode", "listen")
    hidden(page)

    policy(live, "never")
    monitor_event(live, call_id, "monitor.mode", "barge")
    monitor_event(live, call_id, "monitor.mode", "whisper")
    policy(live, "always")
    monitor_event(live, call_id, "monitor.mode", "listen")  # the events arrive in order:
    shown(page, "listen")  # once this one shows, the two under "never" were hidden

    with live.deployment.db.session() as session:  # a desk opened while a session runs
        session.add(
            MonitorSession(
                call_id=call_id,
                supervisor_id=alice,
                extension="1900",
                modes=[{"mode": "whisper", "at": "now"}],
            )
        )
    page.reload()
    shown(page, "whisper")
    live.worker.emit({"type": "ended", "call_id": call_id, "agent_state": "wrap_up"})
    hidden(page)
