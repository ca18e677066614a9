"""The post-call survey on a real call: through the edge and a real worker with the IVR, the
agent hangs up as soon as they answer (before the survey decision may be back from the store),
the caller keys 4 then 1: the call's record has CSAT 4 and solved; a second
call from the same caller the same day is not surveyed (the queue's cap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from store.models import AgentState, Queue
from store.survey_tables import CallSurvey
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.phones import Phone
from telephony.testing.workers import EventStream, await_ready, launch_worker, wait_until
from tests.telephony.test_switch_behind_edge import kamailio_has, support_uri
from tests.telephony.test_switch_queueing import (
    agent,
    deployment,
    let_audio_flow,
    set_state,
)

pytestmark = pytest.mark.e2e

IVR = "telephony.callflow.ivr:IvrFlows"
__all__ = ["deployment"]  # the fixtures, shared with the queueing tests


def ivr_worker(deployment: Deployment, edge: EdgeUnderTest) -> EventStream:
    """A worker with the IVR (no speech service: the caller answers by key)."""
    config = deployment.config(edge=edge.address, switch=edge.switch_address,
                               sip_domain=edge.settings.sip_domain, flow=IVR,
                               extra={"speech": False})
    worker = launch_worker(config, 1, deployment.root)
    deployment.workers.append(worker)
    await_ready(worker, timeout=90)  # the IVR warms numba kernels first
    wait_until(lambda: kamailio_has(edge, [f"sip:{worker.sip_uri_host}"]), 12, "edge has it", 0.5)
    return worker.events()


def surveyed_queue(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        queue = session.scalar(select(Queue).where(Queue.name == "support"))
        if queue is None:
            queue = Queue(name="support")
            session.add(queue)
        queue.survey_enabled, queue.survey_cap_days = True, 1


def bridge_then_agent_hangs_up(
    caller: Phone, uri: str, headset: Phone, events: EventStream, talk: float = 2.0
) -> tuple[int, str]:
    call = caller.call(uri)
    caller.wait_for("state", call=call, state="confirmed", timeout=20)
    bridged = events.wait_for("bridged", timeout=90)
    agent_call = headset.wait_for("incoming", timeout=10)["call"]
    headset.wait_for("state", call=agent_call, state="confirmed")
    if talk:
        let_audio_flow(talk)  # they talk; the worker decides meanwhile whether the survey is due
    headset.hangup(agent_call)
    headset.wait_for("state", call=agent_call, state="disconnected")
    return call, bridged["call_id"]


def test_the_caller_keys_4_after_the_agent_hangs_up_and_is_not_asked_again_that_day(
    edge: EdgeUnderTest, deployment: Deployment, tmp_path: Path
) -> None:
    surveyed_queue(deployment)
    agent_id, headset = agent(deployment, edge, "1001")
    events = ivr_worker(deployment, edge)
    caller = deployment.phone("caller")

    # The agent hangs up the moment they answer: the survey decision may still be in the
    # store; the caller must be kept for it all the same (telephony/survey.py).
    call, call_id = bridge_then_agent_hangs_up(caller, support_uri(edge), headset, events, 0.0)
    assert events.wait_for("survey", timeout=10, call_id=call_id)["state"] == "started"
    events.wait_for("ivr.prompt", timeout=20, call_id=call_id, prompt="survey_csat",
                    state="playing")
    caller.dtmf(call, "4")
    events.wait_for("ivr.prompt", timeout=20, call_id=call_id, prompt="survey_solved",
                    state="playing")
    caller.dtmf(call, "1")
    answered = events.wait_for("survey", timeout=30, call_id=call_id, state="answered")
    assert (answered["csat"], answered["solved"], answered["channel"]) == (4, True, "key")
    caller.wait_for("state", call=call, state="disconnected", timeout=30)
    cdr = deployment.ended_call(call_id)
    assert cdr.outcome == "completed" and cdr.agent_id == agent_id
    with deployment.db.session() as session:
        survey = session.scalar(select(CallSurvey).where(CallSurvey.call_id == call_id))
        assert survey is not None and survey.answered_at is not None
        assert (survey.csat, survey.solved, survey.agent_id) == (4, True, agent_id)

    events.wait_for("agent.state", timeout=10, agent_id=agent_id)  # wrap-up after the call
    set_state(deployment, agent_id, AgentState.AVAILABLE)
    again, again_id = bridge_then_agent_hangs_up(caller, support_uri(edge), headset, events)
    caller.wait_for("state", call=again, state="disconnected", timeout=15)
    deployment.ended_call(again_id)
    assert [e for e in events.events if e.get("type") == "survey" and e.get("call_id") == again_id
            ] == []
    with deployment.db.session() as session:
        assert session.scalar(select(CallSurvey).where(CallSurvey.call_id == again_id)) is None
