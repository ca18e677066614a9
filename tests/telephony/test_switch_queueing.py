"""Callers in line through the edge and a real worker: position, ring timeout, callback, and
relationship-first routing."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from ivr.prompts import read_wav, render_prompt
from ivr.recordings import store_queue_music
from store.models import (
    Account,
    Agent,
    AgentState,
    Customer,
    Interaction,
    Queue,
    QueueEntry,
    RouteDecision,
    utcnow,
)
from telephony.queue_phrases import POSITION_TEXT
from telephony.testing.audio import correlation_peak, recording, tone_share
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.phones import Phone
from telephony.testing.workers import EventStream, request_a_callback, wait_until
from tests.telephony.test_switch_behind_edge import kamailio_has, support_uri

pytestmark = pytest.mark.e2e

KEYED_FLOW = "tests.harness.flows:keyed_account"
UPLOADED_HZ = 1100.0  # no note of the built-in melody


@pytest.fixture
def deployment(
    edge: EdgeUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    monkeypatch.setenv("CENTRALINO_DATABASE_URL", edge.settings.database_url)  # for the flow
    setup = Deployment(tmp_path, db_url=edge.settings.database_url)
    yield setup
    setup.close()


def start_worker(
    deployment: Deployment, edge: EdgeUnderTest, flow: str | None = None
) -> EventStream:
    options = {"flow": flow} if flow else {}
    config = deployment.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain,
        **options,
    )
    worker = deployment.worker(1, config)
    wait_until(lambda: kamailio_has(edge, [f"sip:{worker.sip_uri_host}"]), 12, "edge has it", 0.5)
    return worker.events()


def phone_on_edge(
    deployment: Deployment, edge: EdgeUnderTest, extension: str, auto_answer: bool
) -> Phone:
    password = edge.add_device(extension)
    phone = deployment.phone(f"phone{extension}", auto_answer=auto_answer)
    registration = phone.register(
        edge.uri_host, extension, password, domain=edge.settings.sip_domain
    )
    assert registration["code"] == 200, registration
    return phone


def agent(
    deployment: Deployment,
    edge: EdgeUnderTest,
    extension: str,
    state: AgentState = AgentState.AVAILABLE,
    auto_answer: bool = True,
) -> tuple[int, Phone]:
    phone = phone_on_edge(deployment, edge, extension, auto_answer)
    agent_id = deployment.add_agent(extension)
    set_state(deployment, agent_id, state)
    return agent_id, phone


def set_state(
    deployment: Deployment, agent_id: int, state: AgentState, idle_for: float = 0.0
) -> None:
    """What the console does when an agent changes state (older *idle_for*: idle longer)."""
    with deployment.db.session() as session:
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(state=state, state_since=utcnow() - timedelta(seconds=idle_for))
        )


def known_customer(deployment: Deployment, agent_id: int, account: str = "4417") -> int:
    """Ada, with an account, last served by *agent_id* three days ago."""
    with deployment.db.session() as session:
        customer = Customer(name="Ada Rossi", preferences={})
        session.add(customer)
        session.flush()
        session.add(Account(number=account, customer_id=customer.id))
        session.add(
            Interaction(
                customer_id=customer.id,
                agent_id=agent_id,
                at=utcnow() - timedelta(days=3),
                outcome="resolved",
            )
        )
        return customer.id


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def assert_talking(caller: Phone, call: int, agent_phone: Phone, agent_call: int) -> np.ndarray:
    """Tones both ways, then the caller hangs up; each side recorded the other's tone.
    Returns what the caller heard."""
    agent_phone.tone(agent_call, 1000)
    caller.tone(call, 1500)
    let_audio_flow(0.8)
    caller.hangup(call)
    agent_phone.wait_for("state", call=agent_call, state="disconnected")
    caller_heard = recording(caller.wait_for("recorded", call=call)["path"])
    assert tone_share(caller_heard, 1000) > 0.5
    heard = recording(agent_phone.wait_for("recorded", call=agent_call)["path"])
    assert tone_share(heard, 1500) > 0.5
    return caller_heard


def test_caller_waits_hears_position_and_gets_the_agent_who_becomes_free(
    edge: EdgeUnderTest, deployment: Deployment, tmp_path: Path
) -> None:
    agent_id, headset = agent(deployment, edge, "1001", AgentState.PAUSED)
    events = start_worker(deployment, edge)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    queued = events.wait_for("queued", timeout=20)
    assert events.wait_for("queue.position", timeout=20)["position"] == 1
    events.wait_for("queue.position", timeout=30)  # the message again, after the music

    set_state(deployment, agent_id, AgentState.AVAILABLE)
    ringing = events.wait_for("agent.ringing", timeout=10)
    assert (ringing["call_id"], ringing["agent_id"]) == (queued["call_id"], agent_id)
    assert ringing["kind"] == "call" and ringing["reason"].startswith("longest idle")
    events.wait_for("bridged", timeout=10)
    agent_call = headset.wait_for("incoming")["call"]
    headset.wait_for("state", call=agent_call, state="confirmed")
    heard = assert_talking(caller, call, headset, agent_call)
    text = POSITION_TEXT.format(position=1)
    message, _ = read_wav(render_prompt(text, "en", tmp_path / "prompts"))
    assert correlation_peak(heard, message.astype(float))[0] > 0.6
    cdr = deployment.ended_call(queued["call_id"])
    assert cdr.outcome == "completed" and cdr.agent_id == agent_id
    with deployment.db.session() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_id == cdr.id))
        assert entry is not None and entry.state == "connected"


def test_ring_timeout_sends_the_caller_on_keeping_their_place(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:
        session.add(Queue(name="support", ring_timeout_seconds=2))
    sleepy, sleepy_phone = agent(deployment, edge, "1001", AgentState.PAUSED, auto_answer=False)
    awake, awake_phone = agent(deployment, edge, "1002", AgentState.PAUSED)
    events = start_worker(deployment, edge)
    first, second = deployment.phone("first"), deployment.phone("second", record=False)
    first_call = first.call(support_uri(edge))
    first_id = events.wait_for("queued", timeout=20)["call_id"]
    second_call = second.call(support_uri(edge))
    second_id = events.wait_for("queued", timeout=20)["call_id"]

    set_state(deployment, sleepy, AgentState.AVAILABLE)
    assert events.wait_for("agent.ringing", timeout=10, agent_id=sleepy)["call_id"] == first_id
    sleepy_phone.wait_for("incoming")
    assert events.wait_for("agent.missed", timeout=15, agent_id=sleepy)["call_id"] == first_id
    wait_until(
        lambda: deployment.agent_state(sleepy) == AgentState.NOT_READY, 15, "sleepy not ready"
    )
    set_state(deployment, awake, AgentState.AVAILABLE)
    ringing = events.wait_for("agent.ringing", timeout=10, agent_id=awake)
    assert ringing["call_id"] == first_id  # the second caller waited behind the first
    events.wait_for("bridged", timeout=10, agent_id=awake)
    agent_call = awake_phone.wait_for("incoming")["call"]
    awake_phone.wait_for("state", call=agent_call, state="confirmed")
    assert_talking(first, first_call, awake_phone, agent_call)

    with deployment.db.session() as session:
        outcomes = session.execute(
            select(RouteDecision.agent_id, RouteDecision.outcome)
            .where(RouteDecision.call_id == first_id)
            .order_by(RouteDecision.id)
        ).all()
    assert [tuple(row) for row in outcomes] == [(sleepy, "no_answer"), (awake, "answered")]
    assert deployment.agent_state(sleepy) == AgentState.NOT_READY
    second.hangup(second_call)
    assert deployment.ended_call(second_id).outcome == "abandoned"
    with deployment.db.session() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_id == second_id))
        assert entry is not None and entry.state == "abandoned"


def test_press_1_for_a_callback_rings_the_agent_then_the_customer(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent_id, headset = agent(deployment, edge, "1001", AgentState.PAUSED)
    customer = phone_on_edge(deployment, edge, "2001", auto_answer=False)
    events = start_worker(deployment, edge)
    call = customer.call(support_uri(edge))
    queued = request_a_callback(customer, call, events, "2001")
    assert deployment.ended_call(queued["call_id"]).outcome == "callback requested"

    set_state(deployment, agent_id, AgentState.AVAILABLE)
    ringing = events.wait_for("agent.ringing", timeout=10)
    assert ringing["kind"] == "callback"
    assert (ringing["agent_id"], ringing["caller"]) == (agent_id, "2001")
    agent_call = headset.wait_for("incoming")["call"]
    headset.wait_for("state", call=agent_call, state="confirmed")
    back = customer.wait_for("incoming", timeout=10)["call"]  # only once the agent is there
    customer.answer(back)
    events.wait_for("bridged", timeout=10, agent_id=agent_id)
    customer.wait_for("state", call=back, state="confirmed")
    assert_talking(customer, back, headset, agent_call)
    with deployment.db.session() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_id == queued["call_id"]))
        assert entry is not None and (entry.kind, entry.state) == ("callback", "connected")
    assert deployment.ended_call(ringing["call_id"]).outcome == "completed"


def test_known_customer_goes_to_their_last_agent_even_if_another_idled_longer(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    known, known_phone = agent(deployment, edge, "1001")
    idle, _ = agent(deployment, edge, "1002")
    set_state(deployment, idle, AgentState.AVAILABLE, idle_for=600)
    customer_id = known_customer(deployment, known)
    events = start_worker(deployment, edge, flow=KEYED_FLOW)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    events.wait_for("ivr.step", timeout=10, step="account")
    caller.dtmf(call, "4417#")
    ringing = events.wait_for("agent.ringing", timeout=15)
    assert (ringing["agent_id"], ringing["customer_id"]) == (known, customer_id)
    assert ringing["reason"].startswith("last served this customer")
    assert ringing["call_data"]["account_number"] == "4417"
    events.wait_for("bridged", timeout=10, agent_id=known)
    agent_call = known_phone.wait_for("incoming")["call"]
    known_phone.wait_for("state", call=agent_call, state="confirmed")
    assert_talking(caller, call, known_phone, agent_call)
    assert deployment.agent_state(idle) == AgentState.AVAILABLE


def test_answer_from_the_page_picks_up_a_desk_phone_with_an_intercom_hint(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent_id, desk_phone = agent(deployment, edge, "1001", auto_answer=False)
    with deployment.db.session() as session:
        session.execute(update(Agent).where(Agent.id == agent_id).values(wrapup_seconds=1))
    events = start_worker(deployment, edge)
    worker = deployment.workers[0]
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    call_id = events.wait_for("agent.ringing", timeout=20, agent_id=agent_id)["call_id"]
    assert desk_phone.wait_for("incoming")["intercom"] is False  # it just rings
    assert worker.post(f"/calls/{call_id}/answer").status_code == 200
    picked_up = desk_phone.wait_for("incoming", intercom=True)["call"]
    desk_phone.wait_for("state", call=picked_up, state="confirmed")
    events.wait_for("bridged", timeout=10, agent_id=agent_id)
    assert_talking(caller, call, desk_phone, picked_up)
    assert deployment.ended_call(call_id).outcome == "completed"
    # wrap-up is over after the agent's wrap-up time: a worker's heartbeat ends it
    wait_until(lambda: deployment.agent_state(agent_id) == AgentState.AVAILABLE, 10, "available")


def test_known_customer_waits_for_their_busy_agent_within_the_relationship_wait(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:
        session.add(Queue(name="support", relationship_wait_seconds=120))
    known, known_phone = agent(deployment, edge, "1001", AgentState.WRAP_UP)
    with deployment.db.session() as session:  # a long wrap-up: only the test ends it
        session.execute(update(Agent).where(Agent.id == known).values(wrapup_seconds=3600))
    stranger, stranger_phone = agent(deployment, edge, "1002")
    set_state(deployment, stranger, AgentState.AVAILABLE, idle_for=600)
    customer_id = known_customer(deployment, known)
    events = start_worker(deployment, edge, flow=KEYED_FLOW)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    events.wait_for("ivr.step", timeout=10, step="account")
    caller.dtmf(call, "4417#")
    events.wait_for("queue.position", timeout=20)  # in line although the stranger is free
    assert not [e for e in events.events if e["type"] == "agent.ringing"]
    set_state(deployment, known, AgentState.AVAILABLE)
    ringing = events.wait_for("agent.ringing", timeout=10)
    assert (ringing["agent_id"], ringing["customer_id"]) == (known, customer_id)
    agent_call = known_phone.wait_for("incoming")["call"]
    known_phone.wait_for("state", call=agent_call, state="confirmed")
    assert_talking(caller, call, known_phone, agent_call)
    assert not stranger_phone.seen("incoming")


def test_transfer_to_a_queue_puts_the_caller_back_in_line_for_the_next_agent(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    first, first_phone = agent(deployment, edge, "1001")
    second, second_phone = agent(deployment, edge, "1002", AgentState.PAUSED)
    events = start_worker(deployment, edge)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    call_id = events.wait_for("agent.ringing", timeout=20, agent_id=first)["call_id"]
    events.wait_for("bridged", timeout=10, agent_id=first)
    first_call = first_phone.wait_for("incoming")["call"]
    first_phone.wait_for("state", call=first_call, state="confirmed")

    set_state(deployment, second, AgentState.AVAILABLE)
    moved = deployment.workers[0].post(
        f"/calls/{call_id}/transfer", {"to": "queue:support", "mode": "blind"}
    )
    assert moved.status_code == 200, moved.text
    first_phone.wait_for("state", call=first_call, state="disconnected")
    assert events.wait_for("transferred", timeout=10, call_id=call_id)["to"] == "queue:support"
    ringing = events.wait_for("agent.ringing", timeout=15, agent_id=second)
    assert ringing["call_id"] == call_id
    events.wait_for("bridged", timeout=10, agent_id=second)
    second_call = second_phone.wait_for("incoming")["call"]
    second_phone.wait_for("state", call=second_call, state="confirmed")
    assert_talking(caller, call, second_phone, second_call)
    assert deployment.agent_state(first) in (AgentState.WRAP_UP, AgentState.AVAILABLE)
    assert deployment.ended_call(call_id).agent_id == second


def test_a_callback_the_customer_does_not_answer_is_retried_then_closed_with_its_outcome(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:
        session.add(
            Queue(
                name="support",
                ring_timeout_seconds=3,
                callback_attempts=2,
                callback_retry_seconds=1,
            )
        )
    agent_id, headset = agent(deployment, edge, "1001", AgentState.PAUSED)
    customer = phone_on_edge(deployment, edge, "2001", auto_answer=False)
    events = start_worker(deployment, edge)
    call = customer.call(support_uri(edge))
    customer.wait_for("state", call=call, state="confirmed")
    queued = events.wait_for("queued", timeout=20)
    events.wait_for("queue.position", timeout=20)
    customer.dtmf(call, "1")
    customer.wait_for("state", call=call, state="disconnected", timeout=20)

    set_state(deployment, agent_id, AgentState.AVAILABLE)
    tries = []
    for _ in range(2):
        ringing = events.wait_for("agent.ringing", timeout=15)
        assert (ringing["kind"], ringing["agent_id"]) == ("callback", agent_id)
        headset.wait_for("state", call=headset.wait_for("incoming")["call"], state="confirmed")
        customer.wait_for("incoming", timeout=10)  # rings, nobody answers
        unreached = events.wait_for("queue.callback.unreached", timeout=15)
        assert unreached["entry_id"] == queued["entry_id"]
        tries.append(ringing["call_id"])
    for call_id in tries:
        assert deployment.ended_call(call_id).outcome == "callback not reached"

    def closed() -> QueueEntry | None:
        with deployment.db.session() as session:
            entry = session.get(QueueEntry, queued["entry_id"])
            return entry if entry is not None and entry.state == "closed" else None

    wait_until(lambda: closed() is not None, 10, "the callback closed")
    entry = closed()
    assert entry is not None and entry.attempts == 2
    assert entry.outcome is not None and entry.outcome.startswith("gave up after 2 attempts (")
    wait_until(
        lambda: deployment.agent_state(agent_id) == AgentState.AVAILABLE, 10, "agent free again"
    )


def test_a_customer_first_callback_calls_the_customer_then_rings_the_held_agent(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:
        session.add(Queue(name="support", callback_mode="customer_first"))
    agent_id, headset = agent(deployment, edge, "1001", AgentState.PAUSED)
    customer = phone_on_edge(deployment, edge, "2001", auto_answer=False)
    events = start_worker(deployment, edge)
    call = customer.call(support_uri(edge))
    customer.wait_for("state", call=call, state="confirmed")
    queued = events.wait_for("queued", timeout=20)
    events.wait_for("queue.position", timeout=20)
    customer.dtmf(call, "1")
    customer.wait_for("state", call=call, state="disconnected", timeout=20)

    set_state(deployment, agent_id, AgentState.AVAILABLE)
    back = customer.wait_for("incoming", timeout=15)["call"]  # the customer first
    assert not headset.seen("incoming")
    assert deployment.agent_state(agent_id) == AgentState.RINGING  # held for this callback
    customer.answer(back)
    ringing = events.wait_for("agent.ringing", timeout=10)
    assert (ringing["kind"], ringing["agent_id"]) == ("callback", agent_id)
    agent_call = headset.wait_for("incoming")["call"]
    events.wait_for("bridged", timeout=10, agent_id=agent_id)
    headset.wait_for("state", call=agent_call, state="confirmed")
    assert_talking(customer, back, headset, agent_call)
    with deployment.db.session() as session:
        entry = session.get(QueueEntry, queued["entry_id"])
        assert entry is not None and entry.outcome == "reached on attempt 1"


def test_a_queue_with_uploaded_music_plays_it_between_the_position_messages(
    edge: EdgeUnderTest, deployment: Deployment, tmp_path: Path
) -> None:
    source = tmp_path / "studio-music.wav"  # as an admin's upload: 44.1 kHz stereo, 3 s
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(source),
                    "synth", "3", "sine", str(UPLOADED_HZ), "vol", "0.4"],
                   check=True, capture_output=True)  # fmt: skip
    name = store_queue_music(source, deployment.root / "recordings", "support")
    with deployment.db.session() as session:
        queue = session.scalar(select(Queue).where(Queue.name == "support"))
        if queue is None:
            session.add(Queue(name="support", music=name))
        else:
            queue.music = name
    agent(deployment, edge, "1001", AgentState.PAUSED)  # nobody free: the caller waits
    events = start_worker(deployment, edge)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    events.wait_for("queue.position", timeout=30)
    events.wait_for("queue.position", timeout=30)  # the message again, after the music
    caller.hangup(call)
    heard = recording(caller.wait_for("recorded", call=call)["path"])
    assert tone_share(heard, UPLOADED_HZ) > 0.8  # the upload, not the built-in melody
    assert tone_share(heard, 523.25) < 0.5  # the melody's first note is not played
