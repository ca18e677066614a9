"""A worker's call slots reused: pjsua gives call ids round-robin over the worker's 4 slots, so
the third bridged call of a worker gets the ids of the first. A pjsua2 Call object of call 1
that is still alive then (a ring timer held the answered agent leg for the ring timeout) would,
when dropped, clear call 3's callbacks and hang up call 3's agent (the analytics benchmark's
``KeyError(3)``). Here three calls go through one worker back to back, and call 3 must outlive
call 1's ring timeout with both directions of audio working."""

from __future__ import annotations

import time

import pytest

from store.models import AgentState, Queue
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.phones import Phone, PhoneError
from telephony.testing.workers import EventStream
from tests.telephony.test_switch_behind_edge import support_uri
from tests.telephony.test_switch_queueing import (
    agent,
    assert_talking,
    deployment,
    set_state,
    start_worker,
)

pytestmark = pytest.mark.e2e

RING_SECONDS = 20  # longer than two whole calls and a third bridged take here (about 9 s)
__all__ = ["deployment"]


def bridged_call(
    caller: Phone, uri: str, headset: Phone, events: EventStream
) -> tuple[int, int, str, float]:
    """(caller's call, agent's call, call id, when the agent's phone rang)."""
    call = caller.call(uri)
    agent_call = headset.wait_for("incoming", timeout=20)["call"]
    rang = time.monotonic()
    call_id = events.wait_for("bridged", timeout=20)["call_id"]
    headset.wait_for("state", call=agent_call, state="confirmed")
    return call, agent_call, call_id, rang


def test_the_third_call_keeps_its_agent_past_the_first_calls_ring_timeout(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    with deployment.db.session() as session:
        session.add(Queue(name="support", ring_timeout_seconds=RING_SECONDS))
    agent_id, headset = agent(deployment, edge, "1001")
    events = start_worker(deployment, edge)
    caller = deployment.phone("caller")
    first_rang = None
    for _ in range(2):  # calls 1 and 2 take the worker's four slots, and end
        call, agent_call, call_id, rang = bridged_call(caller, support_uri(edge), headset, events)
        first_rang = first_rang or rang
        caller.hangup(call)
        headset.wait_for("state", call=agent_call, state="disconnected")
        assert deployment.ended_call(call_id).outcome == "completed"
        set_state(deployment, agent_id, AgentState.AVAILABLE)
    assert first_rang is not None

    call, agent_call, call_id, _ = bridged_call(caller, support_uri(edge), headset, events)
    past_first_timeout = first_rang + RING_SECONDS + 1.5 - time.monotonic()
    assert past_first_timeout > 1.0, "calls 1 and 2 took longer than the ring timeout"
    with pytest.raises(PhoneError):  # nothing may end call 3 while call 1's timer runs out
        headset.wait_for("state", call=agent_call, state="disconnected", timeout=past_first_timeout)
    assert_talking(caller, call, headset, agent_call)  # the worker still drives both legs
    ended = deployment.ended_call(call_id)
    assert ended.outcome == "completed" and ended.agent_id == agent_id
