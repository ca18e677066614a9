"""The screen pop's data: profile, history marks, the IVR's call data, and why this agent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from console.screenpop import build_screenpop, history, ivr_answers
from store.models import Agent, Call, CallSurvey, Customer, Interaction, RouteDecision, utcnow
from tests.console.conftest import Deployment

# The shape the IVR interpreter hands over (ivr/interpreter.py), after identification.
IVR_CALL_DATA = {
    "flow": "default",
    "locale": "en",
    "caller": "+390212345678",
    "greeting_transcript": "not so well, the internet is down",
    "answers": {"greeting": "not so well, the internet is down", "account": "100200300"},
    "mood": "negative",
    "mood_score": -0.6,
    "identified": True,
    "account_number": "100200300",
    "customer_id": 1,
    "steps": ["greeting", "account"],
    "route_reason": "identified",
}


def test_ivr_answers_from_the_interpreter_shape() -> None:
    answers = ivr_answers(IVR_CALL_DATA)
    assert answers["greeting"] == "not so well, the internet is down"
    assert answers["mood"] == "negative (-0.60)"
    assert answers["account"] == "100200300"
    assert answers["other"] == {
        "greeting": "not so well, the internet is down",
        "account": "100200300",
    }
    assert answers["identified_by"] is None
    assert ivr_answers({**IVR_CALL_DATA, "identified_by": "caller ID"})["identified_by"] == (
        "caller ID"
    )
    assert ivr_answers({}) == {
        "greeting": None,
        "mood": None,
        "account": None,
        "identified_by": None,
        "other": {},
    }


def test_pop_for_a_known_caller(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        alice = session.scalar(select(Agent.id).where(Agent.username == "alice"))
        bruno = session.scalar(select(Agent.id).where(Agent.username == "bruno"))
        giulia = session.scalar(select(Customer.id).where(Customer.name == "Giulia Ferri"))
        session.add(RouteDecision(call_id="c1", agent_id=alice, reason="longest idle"))
    event = {
        "type": "agent.ringing",
        "call_id": "c1",
        "agent_id": alice,
        "customer_id": giulia,
        "call_data": IVR_CALL_DATA,
    }
    with deployment.db.session() as session:
        pop = build_screenpop(session, event)
        for_bruno = build_screenpop(session, {**event, "agent_id": bruno})
    assert pop["customer"]["name"] == "Giulia Ferri"
    assert pop["customer"]["you_spoke_on"] is not None
    assert pop["customer"]["history"][0]["with_you"] is True
    assert for_bruno["customer"]["you_spoke_on"] is None
    assert pop["route_reason"] == "longest idle"
    assert pop["credit_limit_cents"] == 10_000 and pop["audit_threshold_cents"] == 25_000
    worded = {**event, "call_data": {**IVR_CALL_DATA, "agent_reason": "preferred agent"}}
    with deployment.db.session() as session:
        assert build_screenpop(session, worded)["route_reason"] == "preferred agent"
        unknown = build_screenpop(session, {**event, "customer_id": None, "call_data": {}})
    assert unknown["customer"] is None


def test_the_history_shows_a_calls_survey_score(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        alice = session.scalar(select(Agent.id).where(Agent.username == "alice"))
        giulia = session.scalar(select(Customer.id).where(Customer.name == "Giulia Ferri"))
        session.add(Call(id="s1", caller="+390212345678", dialled="800", agent_id=alice))
        session.flush()
        session.add(Interaction(customer_id=giulia, agent_id=alice, call_id="s1",
                                outcome="resolved", at=utcnow() + timedelta(minutes=1)))
        session.add(CallSurvey(call_id="s1", caller="+390212345678", agent_id=alice, csat=4,
                               channel="key"))
    with deployment.db.session() as session:
        past = history(session, giulia, alice)
    assert past[0]["csat"] == 4 and all(item["csat"] is None for item in past[1:])
