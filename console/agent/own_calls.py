"""The agent's own latest calls on the desk: when, with whom, the survey's score, the summary,
and a link to the call's page (transcript, measures, coaching marks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import surveys
from store.analytics_tables import CallSummary
from store.models import Call, Customer

OWN_CALLS_LIMIT = 10


def own_calls(
    session: Session, agent_id: int, limit: int = OWN_CALLS_LIMIT
) -> list[dict[str, Any]]:
    """*agent_id*'s latest ended calls, newest first."""
    rows = session.execute(
        select(Call, Customer.name, CallSummary.text)
        .outerjoin(Customer, Customer.id == Call.customer_id)
        .outerjoin(CallSummary, CallSummary.call_id == Call.id)
        .where(Call.agent_id == agent_id, Call.ended_at.is_not(None))
        .order_by(Call.ended_at.desc(), Call.id)
        .limit(limit)
    ).all()
    scores = surveys.csat_by_call(session, [call.id for call, _, _ in rows])
    return [
        {
            "id": call.id,
            "at": f"{call.started_at:%d %b %Y %H:%M}",
            "caller": name or call.caller,
            "csat": scores.get(call.id),
            "summary": text or None,
        }
        for call, name, text in rows
    ]
