"""Feature codes from a desk phone (a real pjsua2 phone registered as the agent's device): the
switch answers ``*22``, pauses the agent, says so and hangs up; the console's desk shows it.
A feature code from a phone with no agent changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from console.testing.console_process import ConsoleProcess
from store.models import Agent, AgentState
from store.passwords import ScryptCost, hash_password
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.phones import Phone
from telephony.testing.workers import wait_until


@pytest.fixture
def deployment(edge: EdgeUnderTest, tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path, db_url=edge.settings.database_url)
    config = setup.config(edge=edge.address, switch=edge.switch_address,
                          sip_domain=edge.settings.sip_domain)
    worker = setup.worker(1, config)
    wait_until(lambda: f"sip:{worker.sip_uri_host}" in edge.edge.rpc("dispatcher.list"), 12,
               "Kamailio routes to the worker", interval=0.3)
    yield setup
    setup.close()


def desk_phone(deployment: Deployment, edge: EdgeUnderTest, extension: str) -> Phone:
    password = edge.add_device(extension)
    phone = deployment.phone(f"desk{extension}", record=False)
    answer = phone.register(edge.uri_host, extension, password, domain=edge.settings.sip_domain)
    assert answer["code"] == 200, answer
    return phone


def dial(phone: Phone, edge: EdgeUnderTest, code: str) -> None:
    call = phone.call(f"sip:{code}@{edge.uri_host}")
    phone.wait_for("state", call=call, state="confirmed", timeout=15)
    # The switch says what happened and hangs up.
    phone.wait_for("state", call=call, state="disconnected", timeout=20)


def test_star_22_pauses_the_agent_and_the_console_shows_it(
    edge: EdgeUnderTest, deployment: Deployment, tmp_path: Path
) -> None:
    phone = desk_phone(deployment, edge, "3401")
    agent_id = deployment.add_agent("3401")  # available, on that device
    with deployment.db.session() as session:
        session.execute(update(Agent).where(Agent.id == agent_id).values(
            password_hash=hash_password("desk-phone-pw", ScryptCost(2**10, 8, 1))))
    dial(phone, edge, "*22")
    assert deployment.agent_state(agent_id) == AgentState.PAUSED
    console = ConsoleProcess(tmp_path, edge.settings.database_url).start()
    try:
        cookie = console.sign_in("agent3401", "desk-phone-pw")
        status, _, page = console.get("/agent/", cookie=cookie)
        assert status == 200 and 'data-state="paused"' in page
    finally:
        console.stop()
    dial(phone, edge, "*21")
    assert deployment.agent_state(agent_id) == AgentState.AVAILABLE
    dial(phone, edge, "*23")
    assert deployment.agent_state(agent_id) == AgentState.LOGGED_OUT


def test_a_feature_code_from_a_phone_without_an_agent_changes_nobody(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent_id = deployment.add_agent("3402")
    phone = desk_phone(deployment, edge, "3403")
    dial(phone, edge, "*22")
    assert deployment.agent_state(agent_id) == AgentState.AVAILABLE
