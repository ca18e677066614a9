"""A blind transfer to a colleague on a real worker: the colleague is claimed (their desk pops
the caller), and when they let it ring out they go not ready and the caller goes back in line,
still connected (before, the target's unanswered ring ended the caller's call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from store.models import Agent, AgentState, Queue
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def set_state(deployment: Deployment, agent_id: int, state: AgentState) -> None:
    with deployment.db.session() as session:
        session.execute(update(Agent).where(Agent.id == agent_id).values(state=state))


def test_a_blind_transfer_that_rings_out_puts_the_caller_back_in_line(
    deployment: Deployment,
) -> None:
    with deployment.db.session() as session:
        session.add(Queue(name="support", ring_timeout_seconds=2))
    eve = deployment.add_agent("1001", "Eve Marino")
    marco = deployment.add_agent("1002", "Marco Gallo")
    set_state(deployment, marco, AgentState.PAUSED)  # the caller goes to Eve first
    eve_phone = deployment.phone("eve", auto_answer=True, record=False)
    marco_phone = deployment.phone("marco", record=False)  # rings, nobody answers
    uris = {"1001": eve_phone.uri, "1002": marco_phone.uri}
    worker = deployment.worker(1, deployment.config(agent_uris=uris))
    events = worker.events()
    caller = deployment.phone("caller", record=False)
    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    caller.wait_for("state", call=call, state="confirmed")
    call_id = events.wait_for("bridged", timeout=30, agent_id=eve)["call_id"]
    set_state(deployment, marco, AgentState.AVAILABLE)

    moved = worker.post(f"/calls/{call_id}/transfer", {"to": "1002", "mode": "blind"})
    assert moved.status_code == 200, moved.text
    ringing = events.wait_for("agent.ringing", timeout=10, agent_id=marco)
    assert (ringing["call_id"], ringing["kind"]) == (call_id, "transfer")
    assert ringing["reason"] == "transferred to you by Eve Marino"
    marco_phone.wait_for("incoming")
    assert deployment.agent_state(marco) == AgentState.RINGING
    wait_until(lambda: deployment.agent_state(eve) == AgentState.WRAP_UP, 5, "Eve wraps up")

    missed = events.wait_for("agent.missed", timeout=10, agent_id=marco)
    assert missed["call_id"] == call_id
    events.wait_for("queued", timeout=10, call_id=call_id)  # back in line, still on the call
    wait_until(lambda: deployment.agent_state(marco) == AgentState.NOT_READY, 5, "Marco not ready")
    assert caller.seen("state", call=call, state="disconnected") == []
    assert not [e for e in events.events if e["type"] == "ended" and e["call_id"] == call_id]
    caller.hangup(call)
    caller.wait_for("state", call=call, state="disconnected")
    events.wait_for("ended", timeout=10, call_id=call_id)
