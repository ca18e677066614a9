"""Busy-lamp fields through the real edge: a desk phone subscribes to a colleague's extension
(SUBSCRIBE Event: dialog), a switch worker calls that colleague, and the watcher's NOTIFYs say
early while it rings, confirmed once it is answered and terminated after the hang-up; strangers
may neither subscribe without credentials nor publish line state; an agent's state key
(agent-<extension>, published by the switch) is lit while paused and dark while available."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from console.provisioning.enrol import enrol_desk_phone
from store.agents import set_own_state
from store.models import Agent, AgentState, Device
from telephony.testing.deployment import Deployment
from telephony.testing.deskphone import DeskPhone
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import WorkerProcess, wait_until
from tests.harness.parts import require


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    require("kamailio")
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


@pytest.fixture
def worker(edge: EdgeUnderTest, tmp_path: Path) -> Iterator[WorkerProcess]:
    deployment = Deployment(tmp_path, db_url=edge.settings.database_url)
    config = deployment.config(edge=edge.address, switch=edge.switch_address,
                               sip_domain=edge.settings.sip_domain)
    started = deployment.worker(1, config)
    wait_until(lambda: f"sip:{started.sip_uri_host}" in edge.edge.rpc("dispatcher.list"), 12,
               "Kamailio routes to the worker", interval=0.3)
    yield started
    deployment.close()


def desk_phone(edge: EdgeUnderTest, tmp_path: Path, mac: str, extension: str,
               rings: bool = False) -> DeskPhone:
    enrolled = enrol_desk_phone(edge.db, tmp_path, mac=mac, vendor_name="yealink",
                                extension=extension, sip_domain=edge.settings.sip_domain)
    phone = DeskPhone("yealink", enrolled.mac, enrolled.token, extension,
                      enrolled.sip_password, edge.settings.sip_domain, edge.address, "",
                      rings=rings)
    assert phone.register() == 200
    return phone


def dialog_states(phone: DeskPhone, entity: str) -> list[str]:
    """The <state> of each dialog-info NOTIFY about *entity*, in order ("" for no dialog)."""
    states = []
    for event, body in list(phone.notifies):
        if event != "dialog" or f"sip:{entity}@" not in body:
            continue
        found = re.search(r"<state[^>]*>\s*(\w+)\s*</state>", body)
        states.append(found.group(1) if found else "")
    return states


def test_a_watchers_lamp_follows_a_colleagues_call(
    edge: EdgeUnderTest, worker: WorkerProcess, tmp_path: Path
) -> None:
    agent = desk_phone(edge, tmp_path, "00:15:65:00:10:01", "3401", rings=True)
    watcher = desk_phone(edge, tmp_path, "00:15:65:00:10:02", "3402")
    try:
        assert watcher.subscribe("3401") in (200, 202)
        watcher.wait(lambda: dialog_states(watcher, "3401"), 5, "the first NOTIFY")

        assert worker.post("/calls", {"to": "3401"}).status_code == 201
        call_id = agent.wait(lambda: next(iter(agent.ringing), None), 10, "the call rings")
        watcher.wait(lambda: "early" in dialog_states(watcher, "3401"), 5, "early (ringing)")

        dialog = agent.answer(call_id)
        watcher.wait(lambda: "confirmed" in dialog_states(watcher, "3401"), 5, "confirmed")

        agent.hang_up(dialog)
        watcher.wait(lambda: dialog_states(watcher, "3401")[-1] == "terminated", 5,
                     "terminated after the hang-up")
        states = dialog_states(watcher, "3401")
        assert states.index("early") < states.index("confirmed") < len(states) - 1
    finally:
        agent.close()
        watcher.close()


def raw_request(phone: DeskPhone, edge: EdgeUnderTest, method: str, event: str,
                call_id: str) -> int:
    """One request without credentials; the code of its final answer."""
    phone._send("\r\n".join([
        f"{method} sip:3401@{edge.uri_host} SIP/2.0", phone._via(), "Max-Forwards: 70",
        f"From: <sip:{phone.user}@{edge.settings.sip_domain}>;tag=1",
        f"To: <sip:3401@{edge.settings.sip_domain}>", f"Call-ID: {call_id}",
        f"CSeq: 1 {method}", f"Contact: <{phone.contact}>", f"Event: {event}", "Expires: 60",
        "Content-Type: application/dialog-info+xml", "Content-Length: 0", "", ""]))
    reply: str = phone.wait(
        lambda: next((r for r in phone.replies if f"Call-ID: {call_id}" in r), None), 5,
        f"answer to {method}")
    return int(reply.split()[1])


def test_strangers_neither_watch_nor_publish_and_other_events_are_refused(
    edge: EdgeUnderTest, tmp_path: Path
) -> None:
    agent = desk_phone(edge, tmp_path, "00:15:65:00:10:03", "3401")
    try:
        # Without credentials: a challenge, never the line state.
        assert raw_request(agent, edge, "SUBSCRIBE", "dialog", "no-credentials") in (401, 407)
        # Line state is published by the switch alone, never from the public socket.
        assert raw_request(agent, edge, "PUBLISH", "dialog", "forged-publish") == 403
        # Signed in, a device may watch dialogs only (no presence documents, no reg events).
        assert agent.subscribe("3402") in (200, 202)
        agent.notifies.clear()
        assert agent.subscribe_event("3402", "presence") == 489
        assert not any(event == "presence" for event, _ in agent.notifies)
    finally:
        agent.close()


def test_an_agents_state_key_follows_the_agent(edge: EdgeUnderTest, tmp_path: Path) -> None:
    """The switch publishes agent-<ext>: paused lights the lamp, available turns it off."""
    agent_phone = desk_phone(edge, tmp_path, "00:15:65:00:10:04", "3404")
    watcher = desk_phone(edge, tmp_path, "00:15:65:00:10:05", "3405")
    with edge.db.session() as session:
        device = session.scalar(select(Device).where(Device.extension == "3404"))
        assert device is not None
        agent = Agent(name="Ada", username="ada", password_hash="x", device_id=device.id,
                      state=AgentState.AVAILABLE)
        session.add(agent)
        session.flush()
        agent_id = agent.id
    try:
        assert watcher.subscribe("agent-3404") in (200, 202)
        watcher.wait(lambda: dialog_states(watcher, "agent-3404")[-1:] == ["terminated"], 5,
                     "available: the lamp is dark")
        assert set_own_state(edge.db, agent_id, "paused", "coffee")
        watcher.wait(lambda: dialog_states(watcher, "agent-3404")[-1:] == ["confirmed"], 5,
                     "paused: the lamp is lit")
        assert set_own_state(edge.db, agent_id, "available")
        watcher.wait(lambda: dialog_states(watcher, "agent-3404")[-1:] == ["terminated"], 5,
                     "available again: dark")
    finally:
        agent_phone.close()
        watcher.close()
