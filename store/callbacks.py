"""What supervisors see of callback requests: each one's number, tries, next try and outcome.

The tries themselves are made by the switch workers (``telephony.callback_policy``); this is the
read side the console may import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import QueueEntry


@dataclass(frozen=True)
class CallbackRow:
    """One callback request as the supervisor's floor shows it."""

    entry_id: int
    queue: str
    number: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    outcome: str | None
    requested_at: datetime


def recent_callbacks(session: Session, limit: int = 50) -> list[CallbackRow]:
    """The latest callback requests, newest first, with their tries and outcomes."""
    rows = session.scalars(
        select(QueueEntry)
        .where(QueueEntry.kind == "callback")
        .order_by(QueueEntry.updated_at.desc(), QueueEntry.id.desc())
        .limit(limit)
    )
    return [
        CallbackRow(
            row.id,
            row.queue,
            row.callback_number,
            row.state,
            row.attempts or 0,
            row.next_attempt_at,
            row.outcome,
            row.enqueued_at,
        )
        for row in rows
    ]
