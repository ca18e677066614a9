"""A callback's tries: reached, not reached (try again after the spacing, or give up), and
what supervisors see of them.

A callback request is a queue entry of kind ``callback`` that keeps the caller's original
``enqueued_at``, so every try is offered at the caller's original place in line (`router`).
Each queue sets the policy (`store.models.Queue`): ``callback_mode`` (``agent_first``: the
agent's phone rings, then the customer's; ``customer_first``: the customer is called while the
claimed agent is held, and the agent's phone rings when they answer), ``callback_attempts`` and
``callback_retry_seconds``. The outcome of every request is stored on its entry; supervisors
read them with `store.callbacks.recent_callbacks`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import agents
from store.db import Database
from store.models import QueueEntry, RouteDecision, utcnow
from telephony import router

REACHED, GAVE_UP = "reached", "gave up"


def _close_decision(session: Session, entry: QueueEntry, outcome: str) -> None:
    decision = session.scalar(
        select(RouteDecision)
        .where(RouteDecision.call_id == entry.call_id, RouteDecision.entry_id == entry.id)
        .order_by(RouteDecision.id.desc())
        .limit(1)
    )
    if decision is not None and decision.outcome in ("offered", "answered"):
        decision.outcome = outcome


def reached(db: Database, entry_id: int) -> None:
    """The customer answered the callback: the request is done."""
    with db.session() as session:
        entry = session.get(QueueEntry, entry_id)
        if entry is None or entry.kind != router.CALLBACK:
            return
        entry.attempts = (entry.attempts or 0) + 1
        entry.state, entry.updated_at = router.CONNECTED, utcnow()
        entry.outcome = f"{REACHED} on attempt {entry.attempts}"
        entry.next_attempt_at = None


def not_reached(db: Database, entry_id: int, why: str = "no answer") -> str:
    """The customer did not answer (*why*): try again after the queue's spacing, at the same
    place in line, or give up after the last attempt. Returns the entry's state afterwards
    (``waiting`` or ``closed``). An agent the try still held is given back."""
    now = utcnow()
    held: tuple[int, str] | None = None
    with db.session() as session:
        entry = session.get(QueueEntry, entry_id)
        if entry is None or entry.kind != router.CALLBACK:
            return router.ABANDONED
        if entry.state == router.CLOSED:
            return router.CLOSED
        settings = router.queue_settings(session, entry.queue)
        if entry.state == router.OFFERED and entry.agent_id is not None:
            held = (entry.agent_id, entry.call_id)
        _close_decision(session, entry, "not reached")
        entry.attempts = (entry.attempts or 0) + 1
        entry.agent_id, entry.updated_at = None, now
        if entry.attempts >= settings.callback_attempts:
            entry.state = router.CLOSED
            entry.next_attempt_at = None
            entry.outcome = f"{GAVE_UP} after {entry.attempts} attempts ({why})"
        else:
            entry.state = router.WAITING
            entry.next_attempt_at = now + timedelta(seconds=settings.callback_retry_seconds)
            entry.outcome = (
                f"attempt {entry.attempts}: {why}; next try at {entry.next_attempt_at:%H:%M:%S}"
            )
        state = entry.state
    if held is not None:
        agents.withdraw(db, held[0], held[1])
    return state
