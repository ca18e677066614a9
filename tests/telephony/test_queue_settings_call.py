"""A queue's callback offer switched off by an admin holds for the next real call: the caller
in line presses 1 and stays in line (no callback request), and gets the agent who becomes free."""

from __future__ import annotations

import pytest

from console.admin.services import queues
from console.admin.services.base import Actor
from store.models import AgentState
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from tests.telephony.test_switch_behind_edge import support_uri
from tests.telephony.test_switch_queueing import agent, phone_on_edge, set_state, start_worker

pytestmark = pytest.mark.e2e


def test_without_the_offer_key_1_keeps_the_caller_in_line(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:  # what the queue page's save does
        queues.create(session, Actor(None, "admin"), {"name": "support",
                                                     "callback_offer": False})
    agent_id, headset = agent(deployment, edge, "1001", AgentState.PAUSED)
    customer = phone_on_edge(deployment, edge, "2001", auto_answer=False)
    events = start_worker(deployment, edge)
    call = customer.call(support_uri(edge))
    customer.wait_for("state", call=call, state="confirmed")
    queued = events.wait_for("queued", timeout=20)
    events.wait_for("queue.position", timeout=20)
    customer.dtmf(call, "1")
    events.wait_for("dtmf", timeout=10, call_id=queued["call_id"], digit="1")
    set_state(deployment, agent_id, AgentState.AVAILABLE)
    ringing = events.wait_for("agent.ringing", timeout=10)
    assert (ringing["call_id"], ringing["kind"]) == (queued["call_id"], "call")
    events.wait_for("bridged", timeout=10, agent_id=agent_id)
    assert [e for e in events.events if e.get("type") == "queue.callback"] == []
    agent_call = headset.wait_for("incoming")["call"]
    customer.hangup(call)
    headset.wait_for("state", call=agent_call, state="disconnected", timeout=10)
    assert deployment.ended_call(queued["call_id"]).outcome == "completed"
