"""REFER through the edge: a caller's is refused and dials nothing; an agent's phone transfers
the caller to another extension, done by the worker as the B2BUA (see telephony/refer.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from store.models import Agent, AgentState
from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.workers import wait_until
from tests.telephony.test_switch_behind_edge import registered_agent, start_workers, support_uri

pytestmark = pytest.mark.e2e


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def test_a_callers_refer_is_refused_and_nothing_is_dialled(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    outsider = deployment.phone("outsider", auto_answer=True, record=False)
    caller = deployment.phone("caller", record=False)
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    call_id = events.wait_for("answered")["call_id"]

    caller.transfer(call, outsider.uri)
    assert caller.wait_for("transfer", call=call, final=True)["code"] == 403
    refused = events.wait_for("transfer.refused", call_id=call_id)
    assert refused["role"] == "customer" and refused["via"] == "refer"
    # The worker went on with the call: a key pressed after the REFER is heard, the outsider
    # never rang, and the call still has its one leg.
    caller.dtmf(call, "5", "info")
    events.wait_for("dtmf", digit="5")
    assert outsider.seen("incoming") == []
    (live,) = worker.get("/calls")
    assert [leg["role"] for leg in live["legs"]] == ["customer"]
    assert live["legs"][0]["state"] == "confirmed"

    caller.hangup(call)
    cdr = deployment.ended_call(call_id)
    assert [leg.role for leg in cdr.legs] == ["customer"]
    assert "transfers" not in (cdr.call_data or {})


def test_an_agents_refer_to_an_extension_becomes_our_transfer(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    first = registered_agent(deployment, edge, "1001")
    second = registered_agent(deployment, edge, "1002")
    with deployment.db.session() as session:  # queue calls go to 1001; 1002 gets the transfer
        session.execute(
            update(Agent).where(Agent.username == "agent1002").values(state=AgentState.NOT_READY)
        )
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    outsider = deployment.phone("outsider", auto_answer=True, record=False)
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    ringing = events.wait_for("agent.ringing", timeout=15)
    call_id, first_agent = ringing["call_id"], ringing["agent_id"]
    events.wait_for("bridged", timeout=10)
    first_call = first.wait_for("incoming")["call"]
    first.wait_for("state", call=first_call, state="confirmed")

    # Arbitrary URIs are refused: nothing is dialled and the agent keeps the caller.
    for target, reason in (
        (outsider.uri, "neither an extension"),
        ("sip:1002@evil.example.org", "not this deployment"),
        (f"sip:4242@{edge.settings.sip_domain}", "neither an extension"),
        (f"<sip:1002@{edge.settings.sip_domain}?Replaces=abc%3Bto-tag%3D1>", "Replaces"),
    ):
        first.transfer(first_call, target)
        assert first.wait_for("transfer", call=first_call, final=True)["code"] == 403, target
        assert reason in events.wait_for("transfer.refused")["reason"], target
    assert outsider.seen("incoming") == []
    assert not first.seen("state", call=first_call, state="disconnected")

    # Another agent's extension: the worker lets 1001 go and rings 1002 itself.
    first.transfer(first_call, f"sip:1002@{edge.settings.sip_domain}")
    assert first.wait_for("transfer", call=first_call, final=True)["code"] == 603
    transferred = events.wait_for("transferred", call_id=call_id)
    assert transferred["mode"] == "blind" and transferred["via"] == "refer"
    first.wait_for("state", call=first_call, state="disconnected")
    second_call = second.wait_for("incoming", timeout=10)["call"]
    second.wait_for("state", call=second_call, state="confirmed")
    bridged = events.wait_for("bridged", call_id=call_id, timeout=10)
    assert bridged["leg_id"] == f"{call_id}/3"
    wait_until(
        lambda: deployment.agent_state(first_agent) == AgentState.WRAP_UP, 5, "1001 wraps up"
    )
    second.tone(second_call, 1500)
    let_audio_flow(0.8)

    caller.hangup(call)
    second.wait_for("state", call=second_call, state="disconnected")
    heard = recording(caller.wait_for("recorded", call=call)["path"])
    assert tone_share(heard, 1500) > 0.5, "the caller did not hear 1002 after the transfer"
    assert outsider.seen("incoming") == []
    cdr = deployment.ended_call(call_id)
    assert cdr.outcome == "completed"
    assert [leg.role for leg in cdr.legs] == ["customer", "agent", "agent"]
    assert cdr.legs[1].end_reason == "transferred"
    assert "1002" in cdr.legs[2].peer
    (transfer,) = cdr.call_data["transfers"]
    assert transfer["to"] == "1002" and transfer["via"] == "refer"
