"""Kamailio killed (`kill -9`) and started again, as `centralino up` does: contacts are back from
the `location` table, the workers and numbers from the edge's files, and new calls flow."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=5.0)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


def test_a_killed_edge_started_again_keeps_registrations_and_takes_new_calls(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    password = edge.add_device("1001")
    deployment.add_agent("1001")
    agent = deployment.phone("agent1001", auto_answer=True, record=False)
    registered = agent.register(edge.uri_host, "1001", password, domain=edge.settings.sip_domain)
    assert registered["code"] == 200
    config = deployment.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain
    )
    worker = deployment.worker(1, config)
    wait_until(lambda: edge.edge.destinations == [f"sip:{worker.sip_uri_host}"], 12, "routed")
    process = edge.edge.process
    assert process is not None

    process.send_signal(signal.SIGKILL)
    process.wait(5)
    assert not edge.edge.running
    edge.edge.restart()

    assert edge.edge.running and edge.edge.process is not process
    assert "1001" in edge.edge.rpc("ul.dump")  # the phone need not register again
    assert f"sip:{worker.sip_uri_host}" in edge.edge.rpc("dispatcher.list")
    caller = deployment.phone("caller", record=False)
    call = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
    caller.wait_for("state", call=call, state="confirmed", timeout=15)
    ringing = worker.events().wait_for("agent.ringing", timeout=15)
    agent_call = agent.wait_for("incoming", timeout=10)["call"]  # reached through the new edge
    agent.wait_for("state", call=agent_call, state="confirmed")
    assert ringing["extension"] == "1001"
    caller.hangup(call)
