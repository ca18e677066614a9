"""Post-call surveys in the store: whether a call is due one, its answers, and reading them back
for the agent's history, the customer's profile and the reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from store.db import Database
from store.models import Queue, utcnow
from store.survey_tables import CallSurvey


def due(
    db: Database, queue: str | None, customer_id: int | None, caller: str, now: datetime | None
) -> bool:
    """Whether a call of *queue* from this customer (or caller ID, for an unknown caller) gets
    the survey: the queue asks for it and none was asked of them in the queue's cap window."""
    if not queue:
        return False
    now = now or utcnow()
    with db.session() as session:
        row = session.execute(
            select(Queue.survey_enabled, Queue.survey_cap_days).where(Queue.name == queue)
        ).first()
        if row is None or not row.survey_enabled:
            return False
        since = now - timedelta(days=max(int(row.survey_cap_days), 0))
        who = (
            or_(CallSurvey.customer_id == customer_id, CallSurvey.caller == caller)
            if customer_id is not None
            else CallSurvey.caller == caller
        )
        recent = session.scalar(
            select(func.count(CallSurvey.id)).where(who, CallSurvey.asked_at > since)
        )
        return not recent


def record(
    db: Database,
    call_id: str,
    *,
    customer_id: int | None,
    caller: str,
    agent_id: int | None,
    csat: int | None,
    solved: bool | None,
    channel: str | None,
    asked_at: datetime,
    answered_at: datetime | None,
) -> None:
    """Store the survey of *call_id* (once: a second write of the same call is ignored)."""
    if csat is not None and not 1 <= csat <= 5:
        raise ValueError(f"csat {csat} is not 1..5")
    with db.session() as session:
        if session.scalar(select(CallSurvey.id).where(CallSurvey.call_id == call_id)):
            return
        session.add(
            CallSurvey(
                call_id=call_id,
                customer_id=customer_id,
                caller=caller[:200],
                agent_id=agent_id,
                csat=csat,
                solved=solved,
                channel=channel,
                asked_at=asked_at,
                answered_at=answered_at,
            )
        )


def csat_by_call(session: Session, call_ids: Iterable[str]) -> dict[str, int]:
    """The score of each answered call among *call_ids*, read in the caller's *session*
    (calls without one are left out); the reports use this name."""
    ids = list(call_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CallSurvey.call_id, CallSurvey.csat).where(
            CallSurvey.call_id.in_(ids), CallSurvey.csat.is_not(None)
        )
    ).all()
    return {call_id: int(csat) for call_id, csat in rows}


def surveys_by_call(db: Database, call_ids: Iterable[str]) -> dict[str, CallSurvey]:
    """The survey row of each of *call_ids* that had one (detached, read-only)."""
    ids = list(call_ids)
    if not ids:
        return {}
    with db.session() as session:
        rows = session.scalars(select(CallSurvey).where(CallSurvey.call_id.in_(ids))).all()
        session.expunge_all()
    return {row.call_id: row for row in rows}
