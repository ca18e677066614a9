"""The desk against a real switch worker and SIP phones: pop, page controls, hang-up, wrap-up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from console.testing.browser import become_available, sign_in_agent
from store.models import Agent, AgentState, Device, DeviceKind, Interaction, Worker
from store.passwords import hash_password
from tests.console.conftest import console_app

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a-long-test-password"


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[Any]:
    from telephony.testing.deployment import Deployment

    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def add_desk_agent(switch: Any) -> int:
    with switch.db.session() as session:
        agent = Agent(
            name="Eve Marino",
            username="eve",
            password_hash=hash_password(PASSWORD),
            skills=["support"],
            credit_limit_cents=10_000,
            state=AgentState.LOGGED_OUT,
            device=Device(kind=DeviceKind.HEADSET, extension="1001", sip_username="1001", ha1="x"),
        )
        session.add(agent)
        session.flush()
        return agent.id


def worker_registered(switch: Any) -> bool:
    with switch.db.session() as session:
        return session.scalar(select(Worker.id).where(Worker.alive.is_(True))) is not None


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while (value := condition()) in (None, False, [], 0):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def test_new_caller_through_a_real_worker(switch: Any, page: Any) -> None:
    agent_id = add_desk_agent(switch)
    headset = switch.phone("headset", auto_answer=True)
    worker = switch.worker(1, switch.config(agent_uris={"1001": headset.uri}))
    wait_for(lambda: worker_registered(switch), 10, "the worker's row in the workers table")
    app = console_app(switch.db, WORKER_FEED=True, WORKER_TOKEN=switch.token)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        sign_in_agent(page, url, "eve", PASSWORD)
        become_available(page)

        caller = switch.phone("caller")
        call = caller.call(f"sip:800@{worker.sip_uri_host}")
        caller.wait_for("state", call=call, state="confirmed")
        page.wait_for_selector("#new-caller:not([hidden])", timeout=30_000)
        assert page.text_content("#caller-name") == "New caller"
        call_id = page.get_attribute("#pop", "data-call-id")
        assert call_id
        page.wait_for_function(
            "['bridged', 'answered'].includes(document.getElementById('call-state').textContent)",
            timeout=15_000,
        )
        page.fill("#create-form input[name=name]", "Walk-in Caller")
        page.click("#create-form button[type=submit]")
        page.wait_for_function(
            "document.getElementById('caller-name').textContent === 'Walk-in Caller'"
        )

        page.click("#controls button[data-action=hold]")
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'hold'", timeout=10_000
        )
        page.click("#controls button[data-action=unhold]")
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'unhold'", timeout=10_000
        )
        page.click("#controls button[data-action=hangup]")
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'ended'", timeout=10_000
        )
        caller.wait_for("state", call=call, state="disconnected")
        page.wait_for_selector("#state[data-state=wrap_up]")
        page.fill("#wrapup-form textarea[name=notes]", "First call; profile created.")
        page.click("#wrapup-form button[type=submit]")
        page.wait_for_selector("#state[data-state=available]")
        with switch.db.session() as session:
            note = session.scalar(select(Interaction).where(Interaction.agent_id == agent_id))
            assert note is not None and note.notes == "First call; profile created."
            assert note.call_id == call_id  # the worker's CDR row exists, so the note links it
            assert session.get(Agent, agent_id).state is AgentState.AVAILABLE
    finally:
        app.extensions["centralino.worker_feed"].stop()
        server.shutdown()
        server.server_close()
        app.extensions["centralino.db"].dispose()
