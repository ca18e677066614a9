"""Call detail records: the ``calls`` and ``call_legs`` rows of live calls, and closing dead ones.

A worker writes its own calls as they progress, behind the call on its store thread: each
moment is stamped when it happens (*at*, from `telephony.call_record`), not when the write
runs, so a write the store held up cannot put a call's start after its answer. When a worker
dies, whoever notices closes its open calls as ``failed`` (`telephony.reaper`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from store.db import Database
from store.models import Call, CallLeg, CallState, utcnow


def open_call(
    db: Database,
    call_id: str,
    caller: str,
    dialled: str,
    worker_id: int | None,
    direction: str = "inbound",
    at: datetime | None = None,
) -> None:
    with db.session() as session:
        session.add(
            Call(
                id=call_id,
                caller=caller[:200],
                dialled=dialled[:64],
                direction=direction,
                worker_id=worker_id,
                state=CallState.RINGING,
                started_at=at or utcnow(),
            )
        )


def update_call(db: Database, call_id: str, **values: Any) -> None:
    """Set columns of one call, e.g. ``state``, ``answered_at``, ``agent_id``, ``call_data``."""
    with db.session() as session:
        session.execute(update(Call).where(Call.id == call_id).values(**values))


def add_leg(
    db: Database, call_id: str, role: str, peer: str, at: datetime | None = None
) -> int:
    with db.session() as session:
        leg = CallLeg(
            call_id=call_id,
            role=role,
            peer=peer[:255],
            started_at=at or utcnow(),
        )
        session.add(leg)
        session.flush()
        return leg.id


def leg_answered(
    db: Database, leg_row: int, sip_call_id: str | None, at: datetime | None = None
) -> None:
    with db.session() as session:
        session.execute(
            update(CallLeg)
            .where(CallLeg.id == leg_row)
            .values(answered_at=at or utcnow(), sip_call_id=sip_call_id)
        )


def leg_ended(db: Database, leg_row: int, reason: str, at: datetime | None = None) -> None:
    with db.session() as session:
        session.execute(
            update(CallLeg)
            .where(CallLeg.id == leg_row, CallLeg.ended_at.is_(None))
            .values(ended_at=at or utcnow(), end_reason=reason[:64])
        )


def close_call(db: Database, call_id: str, outcome: str, at: datetime | None = None) -> None:
    """End the call and any leg still open; a call already closed keeps its first outcome."""
    now = at or utcnow()
    with db.session() as session:
        session.execute(
            update(Call)
            .where(Call.id == call_id, Call.ended_at.is_(None))
            .values(state=CallState.ENDED, ended_at=now, outcome=outcome)
        )
        session.execute(
            update(CallLeg)
            .where(CallLeg.call_id == call_id, CallLeg.ended_at.is_(None))
            .values(ended_at=now, end_reason=outcome)
        )
