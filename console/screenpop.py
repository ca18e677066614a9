"""What the agent sees when their device rings: the caller's profile, history, IVR answers, why.

Everything here is plain data (JSON for the browser); the page renders it with ``textContent``,
so values from callers and profiles are never interpreted as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import surveys
from store.analytics_tables import CallSummary
from store.models import Account, Agent, Credit, Customer, Interaction, RouteDecision, Setting

DEFAULT_AUDIT_THRESHOLD_CENTS = 25_000
HISTORY_LIMIT = 20


def audit_threshold_cents(session: Session) -> int:
    """Setting ``credit_audit_threshold_cents`` ({"cents": n} or a bare number), else 250.00."""
    setting = session.get(Setting, "credit_audit_threshold_cents")
    value: Any = setting.value if setting is not None else None
    if isinstance(value, dict):
        value = value.get("cents")
    return (
        int(value)
        if isinstance(value, int | float) and value > 0
        else (DEFAULT_AUDIT_THRESHOLD_CENTS)
    )


def _account(account: Account, session: Session) -> dict[str, Any]:
    credits = session.scalars(select(Credit.amount_cents).where(Credit.account_id == account.id))
    return {
        "id": account.id,
        "number": account.number,
        "plan": account.plan,
        "currency": account.currency,
        "balance_cents": account.balance_cents,
        "credited_cents": sum(credits),
    }


def summaries_by_call(session: Session, call_ids: Iterable[str]) -> dict[str, str]:
    """The stored summary text of each of *call_ids* that was analysed."""
    ids = list(call_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CallSummary.call_id, CallSummary.text).where(CallSummary.call_id.in_(ids))
    )
    return {row.call_id: row.text for row in rows if row.text}


def history(session: Session, customer_id: int, agent_id: int) -> list[dict[str, Any]]:
    """The customer's past interactions, newest first, marking those with this agent."""
    rows = session.execute(
        select(Interaction, Agent.name)
        .outerjoin(Agent, Interaction.agent_id == Agent.id)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    call_ids = [item.call_id for item, _ in rows if item.call_id]
    scores = surveys.csat_by_call(session, call_ids)
    summaries = summaries_by_call(session, call_ids)
    return [
        {
            "at": item.at.isoformat(timespec="minutes"),
            "date": f"{item.at:%d %b %Y}",
            "agent": agent_name,
            "with_you": item.agent_id == agent_id,
            "channel": item.channel,
            "outcome": item.outcome,
            "notes": item.notes,
            "follow_up": item.follow_up,
            "csat": scores.get(item.call_id or ""),  # the post-call survey's score, 1..5
            "summary": summaries.get(item.call_id or ""),  # the call's extractive summary
            # the call's page (transcript, measures, coaching) opens for its own agent
            "call_id": item.call_id if item.agent_id == agent_id else None,
        }
        for item, agent_name in rows
    ]


def customer_profile(session: Session, customer_id: int, agent_id: int) -> dict[str, Any] | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    past = history(session, customer_id, agent_id)
    yours = next((item["date"] for item in past if item["with_you"]), None)
    return {
        "id": customer.id,
        "name": customer.name,
        "photo_url": customer.photo_url,
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address,
        "locale": customer.locale,
        "preferences": {str(k): str(v) for k, v in (customer.preferences or {}).items()},
        "notes": customer.notes,
        "accounts": [_account(account, session) for account in customer.accounts],
        "history": past,
        "you_spoke_on": yours,
    }


def ivr_answers(call_data: dict[str, Any]) -> dict[str, Any]:
    """The IVR's findings in the page's words: greeting, mood, keyed account, each step's answer."""
    mood = call_data.get("mood")
    if isinstance(mood, dict):
        mood = mood.get("label") or mood.get("mood")
    score = call_data.get("mood_score")
    if mood and isinstance(score, int | float) and score:
        mood = f"{mood} ({score:.2f})"
    greeting = call_data.get("greeting_transcript") or call_data.get("greeting")
    answers = call_data.get("answers")
    other = {str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {}
    if call_data.get("identify_failure"):
        other["not identified"] = str(call_data["identify_failure"])
    return {
        "greeting": str(greeting) if greeting else None,
        "mood": str(mood) if mood else None,
        "account": call_data.get("account_number") or call_data.get("account"),
        "identified_by": call_data.get("identified_by"),
        "other": other,
    }


def route_reason(session: Session, event: dict[str, Any], agent_id: int) -> str | None:
    """Why this agent: the worker's words, else the router's record, else the IVR's exit."""
    call_data = event.get("call_data") or {}
    reason = event.get("reason") or call_data.get("agent_reason")
    if reason:
        return str(reason)
    recorded = session.scalar(
        select(RouteDecision.reason)
        .where(RouteDecision.call_id == event.get("call_id"), RouteDecision.agent_id == agent_id)
        .order_by(RouteDecision.id.desc())
        .limit(1)
    )
    if recorded:
        return recorded
    return f"IVR: {call_data['route_reason']}" if call_data.get("route_reason") else None


def build_screenpop(session: Session, event: dict[str, Any]) -> dict[str, Any]:
    """The screen pop for an ``agent.ringing`` event."""
    agent_id = int(event["agent_id"])
    call_data = event.get("call_data") or {}
    customer_id = event.get("customer_id") or call_data.get("customer_id")
    profile = customer_profile(session, int(customer_id), agent_id) if customer_id else None
    agent = session.get(Agent, agent_id)
    return {
        "call_id": event.get("call_id"),
        "worker": event.get("worker"),
        "at": event.get("at"),
        "caller": event.get("caller") or call_data.get("caller"),
        "kind": event.get("kind", "call"),
        "customer": profile,
        "ivr": ivr_answers(call_data),
        "route_reason": route_reason(session, event, agent_id),
        "credit_limit_cents": agent.credit_limit_cents if agent else 0,
        "audit_threshold_cents": audit_threshold_cents(session),
    }
