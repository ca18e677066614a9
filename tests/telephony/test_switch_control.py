"""The control API drives a live call: DTMF both ways, hold/unhold, blind and attended transfer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pjsua2 as pj
import pytest

from store.models import AgentState
from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def test_dtmf_hold_blind_and_attended_transfer_on_the_event_stream(
    deployment: Deployment,
) -> None:
    first = deployment.add_agent("1001")
    deployment.add_agent("1002")
    deployment.add_agent("1003")
    agents = {
        ext: deployment.phone(f"agent{ext}", auto_answer=True) for ext in ("1001", "1002", "1003")
    }
    with (
        deployment.db.session() as session
    ):  # only 1001 takes queue calls; the others get transfers
        from store.models import Agent

        for agent in session.query(Agent).filter(Agent.id != first):
            agent.state = AgentState.NOT_READY
    worker = deployment.worker(
        1, deployment.config(agent_uris={ext: phone.uri for ext, phone in agents.items()})
    )
    events = worker.events()
    caller = deployment.phone("caller")
    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    call_id = events.wait_for("answered")["call_id"]
    events.wait_for("bridged", timeout=15)
    agent1_call = agents["1001"].wait_for("incoming")["call"]

    # DTMF from the caller, both methods, shows up with its method.
    caller.dtmf(call, "1", "rfc4733")
    assert events.wait_for("dtmf", digit="1")["method"] == "rfc4733"
    caller.dtmf(call, "2", "info")
    assert events.wait_for("dtmf", digit="2")["method"] == "info"
    # ... and the API sends DTMF to the caller.
    assert worker.post(f"/calls/{call_id}/dtmf", {"digits": "7", "method": "info"}).ok
    assert caller.wait_for("dtmf", digit="7")["method"] == "info"
    assert worker.post(f"/calls/{call_id}/dtmf", {"digits": "x"}).status_code == 400

    # Hold and unhold the customer.
    assert worker.post(f"/calls/{call_id}/hold").ok
    events.wait_for("hold", call_id=call_id)
    caller.wait_for("media", call=call, status=pj.PJSUA_CALL_MEDIA_REMOTE_HOLD)
    assert worker.post(f"/calls/{call_id}/unhold").ok
    events.wait_for("unhold", call_id=call_id)
    caller.wait_for("media", call=call, status=pj.PJSUA_CALL_MEDIA_ACTIVE)
    live = next(c for c in worker.get("/calls") if c["id"] == call_id)
    (held,) = live["call_data"]["holds"]  # the analytics' hold time (docs/analytics.md)
    assert held["held_at"] <= held["resumed_at"]

    # Blind transfer to 1002: agent 1001 is let go, 1002 is bridged with the caller.
    response = worker.post(f"/calls/{call_id}/transfer", {"to": "1002", "mode": "blind"})
    assert response.ok, response.text
    assert events.wait_for("transferred")["mode"] == "blind"
    agents["1001"].wait_for("state", call=agent1_call, state="disconnected")
    agent2_call = agents["1002"].wait_for("incoming")["call"]
    bridged = events.wait_for("bridged", timeout=10)
    assert bridged["leg_id"] == f"{call_id}/3"
    wait_until(lambda: deployment.agent_state(first) == AgentState.WRAP_UP, 5, "1001 wraps up")
    agents["1002"].tone(agent2_call, 1500)
    let_audio_flow(0.6)
    agents["1002"].silence(agent2_call)

    # Attended transfer to 1003: consult, then complete.
    response = worker.post(f"/calls/{call_id}/transfer", {"to": "1003", "mode": "attended"})
    assert response.ok, response.text
    assert events.wait_for("transferred", stage="consulting")["mode"] == "attended"
    agent3_call = agents["1003"].wait_for("incoming")["call"]
    agents["1003"].wait_for("state", call=agent3_call, state="confirmed")
    assert worker.post(f"/calls/{call_id}/transfer/complete").ok
    events.wait_for("transferred", stage="completed")
    events.wait_for("bridged")
    agents["1002"].wait_for("state", call=agent2_call, state="disconnected")
    agents["1003"].tone(agent3_call, 2000)
    let_audio_flow(0.6)

    health = worker.get("/health")
    assert health["tap_frames"] > 100 and health["tap_frames_dropped"] == 0
    calls = worker.get("/calls")
    assert [c["id"] for c in calls] == [call_id]
    live = [leg for leg in calls[0]["legs"] if leg["state"] != "disconnected"]
    assert {leg["role"] for leg in live} == {"customer", "agent"}

    caller.hangup(call)
    agents["1003"].wait_for("state", call=agent3_call, state="disconnected")
    assert events.wait_for("ended")["call_id"] == call_id
    heard = recording(caller.wait_for("recorded", call=call)["path"])
    assert tone_share(heard, 1500) > 0.5, "caller did not hear agent 1002 after the blind transfer"
    assert tone_share(heard, 2000) > 0.5, "caller did not hear agent 1003 after the attended one"
    cdr = deployment.ended_call(call_id)
    assert cdr.outcome == "completed"
    assert [leg.role for leg in cdr.legs] == ["customer", "agent", "agent", "consult"]
    assert all(leg.ended_at is not None for leg in cdr.legs)


def test_api_errors_are_clear(deployment: Deployment) -> None:
    worker = deployment.worker(1, deployment.config())
    assert worker.post("/calls/nope/hold").status_code == 404
    assert worker.post("/calls", {}).status_code == 400
    response = worker.post("/calls/nope/transfer", {"to": "1002", "mode": "sideways"})
    assert response.status_code == 404


def test_originate_rings_the_agent_first_then_the_customer_and_bridges_them(
    deployment: Deployment,
) -> None:
    agent = deployment.phone("agent1001", auto_answer=True, record=False)
    customer = deployment.phone("customer", auto_answer=True, record=False)
    worker = deployment.worker(1, deployment.config(agent_uris={"1001": agent.uri}))
    events = worker.events()
    response = worker.post("/calls", {"to": customer.uri, "from": "1001"})
    assert response.status_code == 201, response.text
    call_id = response.json()["id"]
    agent_call = agent.wait_for("incoming")["call"]
    customer_call = customer.wait_for("incoming")["call"]
    assert events.wait_for("bridged")["call_id"] == call_id
    assert worker.post(f"/calls/{call_id}/hangup").ok
    agent.wait_for("state", call=agent_call, state="disconnected")
    customer.wait_for("state", call=customer_call, state="disconnected")
    assert events.wait_for("ended")["reason"] == "hung up by API"
    cdr = deployment.ended_call(call_id)
    assert cdr.direction == "outbound" and [leg.role for leg in cdr.legs] == ["agent", "customer"]
