"""The desk against a real switch worker and SIP phones: pop, page controls, hang-up, wrap-up,
an attended transfer from one agent's desk to a colleague's, a callback's pop, and a console
killed and started again mid-call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from console.testing.browser import become_available, sign_in_agent
from console.testing.console_process import ConsoleProcess
from store.models import (
    Agent,
    AgentState,
    Call,
    Device,
    DeviceKind,
    Interaction,
    QueueEntry,
    Worker,
)
from store.passwords import hash_password
from telephony.testing.workers import request_a_callback
from tests.console.conftest import console_app

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a-long-test-password"


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[Any]:
    from telephony.testing.deployment import Deployment

    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def add_desk_agent(
    switch: Any, name: str = "Eve Marino", username: str = "eve", extension: str = "1001"
) -> int:
    with switch.db.session() as session:
        agent = Agent(
            name=name,
            username=username,
            password_hash=hash_password(PASSWORD),
            skills=["support"],
            credit_limit_cents=10_000,
            state=AgentState.LOGGED_OUT,
            device=Device(
                kind=DeviceKind.HEADSET, extension=extension, sip_username=extension, ha1="x"
            ),
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


@contextmanager
def desk_console(switch: Any) -> Iterator[str]:
    """The console on loopback, following the deployment's live workers; yields its URL."""
    wait_for(lambda: worker_registered(switch), 10, "the worker's row in the workers table")
    app = console_app(switch.db, WORKER_FEED=True, WORKER_TOKEN=switch.token)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        app.extensions["centralino.worker_feed"].stop()
        server.shutdown()
        server.server_close()
        app.extensions["centralino.db"].dispose()


def call_the_desk(switch: Any, worker: Any, page: Any) -> tuple[Any, int, str | None]:
    """A new caller phone calls the support number on *worker*; once the desk pops:
    (phone, call, the pop's call id)."""
    caller = switch.phone("caller")
    call = caller.call(f"sip:800@{worker.sip_uri_host}")
    caller.wait_for("state", call=call, state="confirmed")
    page.wait_for_selector("#pop:not([hidden])", timeout=30_000)
    return caller, call, page.get_attribute("#pop", "data-call-id")


def test_new_caller_through_a_real_worker(switch: Any, page: Any) -> None:
    agent_id = add_desk_agent(switch)
    headset = switch.phone("headset", auto_answer=True)
    worker = switch.worker(1, switch.config(agent_uris={"1001": headset.uri}))
    with desk_console(switch) as url:
        sign_in_agent(page, url, "eve", PASSWORD)
        become_available(page)

        caller, call, call_id = call_the_desk(switch, worker, page)
        page.wait_for_selector("#new-caller:not([hidden])")
        assert page.text_content("#caller-name") == "New caller"
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


def test_attended_transfer_from_the_desk_pops_the_colleague_and_wraps_up_the_agent(
    switch: Any, page: Any, browser: Any
) -> None:
    """Eve consults Marco from her desk and completes: her headset is let go and her desk
    goes to wrap-up (her notes on the call still save); Marco's desk pops the caller with
    why, shows the call bridged, and the caller hears Marco."""
    from telephony.testing.audio import recording, tone_share

    eve = add_desk_agent(switch)
    marco = add_desk_agent(switch, "Marco Gallo", "marco", "1002")
    eve_headset = switch.phone("eve-headset", auto_answer=True)
    marco_headset = switch.phone("marco-headset", auto_answer=True)
    uris = {"1001": eve_headset.uri, "1002": marco_headset.uri}
    worker = switch.worker(1, switch.config(agent_uris=uris))
    events = worker.events()
    marco_context = browser.new_context(bypass_csp=True)
    marco_page = marco_context.new_page()
    marco_page.set_default_timeout(10_000)
    with closing(marco_context), desk_console(switch) as url:
        sign_in_agent(page, url, "eve", PASSWORD)
        become_available(page)
        caller = switch.phone("caller")
        call = caller.call(f"sip:800@{worker.sip_uri_host}")
        caller.wait_for("state", call=call, state="confirmed")
        call_id = events.wait_for("bridged", timeout=30, agent_id=eve)["call_id"]
        page.wait_for_function(
            f"document.getElementById('pop').dataset.callId === '{call_id}'", timeout=10_000
        )
        eve_call = eve_headset.wait_for("incoming")["call"]
        eve_headset.wait_for("state", call=eve_call, state="confirmed")
        page.fill("#create-form input[name=name]", "Walk-in Caller")
        page.click("#create-form button[type=submit]")
        page.wait_for_function(
            "document.getElementById('caller-name').textContent === 'Walk-in Caller'"
        )
        sign_in_agent(marco_page, url, "marco", PASSWORD)  # free only once Eve has the call
        become_available(marco_page)

        page.select_option("#transfer-form select[name=to]", "1002")
        page.select_option("#transfer-form select[name=mode]", "attended")
        page.click("#transfer-form button[type=submit]")
        events.wait_for("transferred", timeout=10, stage="consulting")
        marco_call = marco_headset.wait_for("incoming")["call"]
        marco_headset.wait_for("state", call=marco_call, state="confirmed")
        page.click("#transfer-form button[data-action=complete-transfer]")
        events.wait_for("transferred", timeout=10, stage="completed")
        assert events.wait_for("bridged", timeout=10, agent_id=marco)["call_id"] == call_id
        eve_headset.wait_for("state", call=eve_call, state="disconnected")

        marco_page.wait_for_function(
            f"document.getElementById('pop').dataset.callId === '{call_id}'", timeout=10_000
        )
        assert marco_page.text_content("#route-reason") == (
            "Routed to you: transferred to you by Eve Marino"
        )
        marco_page.wait_for_function(
            "document.getElementById('call-state').textContent === 'bridged'", timeout=10_000
        )
        marco_page.wait_for_selector("#state[data-state=on_call]")
        page.wait_for_selector("#state[data-state=wrap_up]")  # without a reload
        marco_headset.tone(marco_call, 1500)
        time.sleep(0.8)  # a duration of media, not a wait for an event
        marco_page.click("#controls button[data-action=hangup]")  # Marco acts on the call now
        caller.wait_for("state", call=call, state="disconnected")
        marco_page.wait_for_selector("#state[data-state=wrap_up]")
        heard = recording(caller.wait_for("recorded", call=call)["path"])
        assert tone_share(heard, 1500) > 0.5  # the caller heard Marco after the transfer

        page.fill("#wrapup-form textarea[name=notes]", "Handed to Marco for billing.")
        page.click("#wrapup-form button[type=submit]")
        page.wait_for_selector("#state[data-state=available]")
        with switch.db.session() as session:
            row = session.get(Call, call_id)
            assert row is not None and row.agent_id == marco and row.outcome == "completed"
            assert session.get(Agent, eve).state is AgentState.AVAILABLE
            assert session.get(Agent, marco).state is AgentState.WRAP_UP
            note = session.scalar(select(Interaction).where(Interaction.agent_id == eve))
            assert note is not None and note.notes == "Handed to Marco for billing."
            assert note.call_id == call_id


def test_a_callback_pops_on_the_desk_rings_the_agent_then_the_customer(
    switch: Any, page: Any
) -> None:
    """A caller in line presses 1 and hangs up while Eve is paused; when she becomes available
    from her desk, the callback pops there (marked as a callback, with the number to call),
    her headset rings first, then the customer's phone; the page shows the call bridged."""
    eve = add_desk_agent(switch)
    headset = switch.phone("eve-headset", auto_answer=True)
    customer = switch.phone("2001")  # the number the callback dials: its URI's user part
    uris = {"1001": headset.uri, "2001": customer.uri}
    worker = switch.worker(1, switch.config(agent_uris=uris))
    events = worker.events()
    with desk_console(switch) as url:
        sign_in_agent(page, url, "eve", PASSWORD)
        page.wait_for_function("document.body.dataset.live === 'yes'")
        page.fill("#state-form input[name=reason]", "Coaching")
        page.click("#state-form button[data-state=paused]")
        page.wait_for_selector("#state[data-state=paused]")
        call = customer.call(f"sip:800@{worker.sip_uri_host}")
        queued = request_a_callback(customer, call, events, "2001", queued_within=60)

        page.click("#state-form button[data-state=available]")
        ringing = events.wait_for("agent.ringing", timeout=15, agent_id=eve)
        assert ringing["kind"] == "callback"
        back_id = ringing["call_id"]
        page.wait_for_function(
            f"document.getElementById('pop').dataset.callId === '{back_id}'", timeout=10_000
        )
        assert page.text_content("#caller-number") == "2001"
        assert page.text_content("#call-state") == "callback ringing"  # the customer waits
        agent_call = headset.wait_for("incoming")["call"]
        headset.wait_for("state", call=agent_call, state="confirmed")
        back = customer.wait_for("incoming", timeout=10)["call"]  # only once Eve is there
        customer.answer(back)
        events.wait_for("bridged", timeout=10, agent_id=eve)
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'bridged'", timeout=10_000
        )
        page.wait_for_selector("#state[data-state=on_call]")
        page.click("#controls button[data-action=hangup]")
        customer.wait_for("state", call=back, state="disconnected")
        page.wait_for_selector("#state[data-state=wrap_up]")
        with switch.db.session() as session:
            entry = session.scalar(
                select(QueueEntry).where(QueueEntry.call_id == queued["call_id"])
            )
            assert entry is not None and (entry.kind, entry.state) == ("callback", "connected")


def test_a_console_killed_mid_call_gives_the_agent_their_call_back(switch: Any, page: Any) -> None:
    """``kill -9`` of the console while its agent talks: the call goes on; the console started
    again on the same address reads the worker's live calls, so the agent's desk (reconnected
    by itself, then reloaded) still shows the call where it is, and hears how it ends."""
    add_desk_agent(switch)
    headset = switch.phone("headset", auto_answer=True)
    worker = switch.worker(1, switch.config(agent_uris={"1001": headset.uri}))
    wait_for(lambda: worker_registered(switch), 10, "the worker's row in the workers table")
    console = ConsoleProcess(
        switch.root, switch.db_url, console={"worker_feed": True, "worker_refresh_seconds": 0.2}
    ).start()
    try:
        url = f"http://127.0.0.1:{console.port}"
        sign_in_agent(page, url, "eve", PASSWORD)
        become_available(page)
        caller, call, call_id = call_the_desk(switch, worker, page)
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'bridged'", timeout=15_000
        )

        page.evaluate("document.body.dataset.live = 'killed'")
        console.kill()
        console.start()
        page.wait_for_function("document.body.dataset.live === 'yes'", timeout=30_000)
        assert page.get_attribute("#pop", "data-call-id") == call_id
        assert caller.seen("state", call=call, state="disconnected") == []  # the call went on

        page.reload()  # a fresh desk: its pop comes from what the new console re-learnt
        page.wait_for_function("document.body.dataset.live === 'yes'", timeout=15_000)
        page.wait_for_selector("#pop:not([hidden])", timeout=10_000)
        assert page.get_attribute("#pop", "data-call-id") == call_id
        assert page.text_content("#call-state") == "bridged"

        caller.hangup(call)  # the call's end reaches the desk through the new console
        page.wait_for_function(
            "document.getElementById('call-state').textContent === 'ended'", timeout=15_000
        )
        page.wait_for_selector("#state[data-state=wrap_up]", timeout=10_000)
    finally:
        console.stop()
