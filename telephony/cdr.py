"""Call detail records: the ``calls`` and ``call_legs`` rows of live calls, and closing dead ones.

A worker writes its own calls as they progress. When a worker dies, whoever notices its stale
heartbeat (the other workers on each heartbeat, `centralino up`, ``centralino status``) calls
`reap_stale_workers`, which closes that worker's open calls as ``failed``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from store import agents
from store.db import Database, changed_rows
from store.kamailio_tables import dispatcher
from store.models import Call, CallLeg, CallState, Worker, utcnow

FAILED = "failed"


def open_call(
    db: Database,
    call_id: str,
    caller: str,
    dialled: str,
    worker_id: int | None,
    direction: str = "inbound",
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
                started_at=utcnow(),
            )
        )


def update_call(db: Database, call_id: str, **values: Any) -> None:
    """Set columns of one call, e.g. ``state``, ``answered_at``, ``agent_id``, ``call_data``."""
    with db.session() as session:
        session.execute(update(Call).where(Call.id == call_id).values(**values))


def add_leg(db: Database, call_id: str, role: str, peer: str) -> int:
    with db.session() as session:
        leg = CallLeg(
            call_id=call_id,
            role=role,
            peer=peer[:255],
            started_at=utcnow(),
        )
        session.add(leg)
        session.flush()
        return leg.id


def leg_answered(db: Database, leg_row: int, sip_call_id: str | None) -> None:
    with db.session() as session:
        session.execute(
            update(CallLeg)
            .where(CallLeg.id == leg_row)
            .values(answered_at=utcnow(), sip_call_id=sip_call_id)
        )


def leg_ended(db: Database, leg_row: int, reason: str) -> None:
    with db.session() as session:
        session.execute(
            update(CallLeg)
            .where(CallLeg.id == leg_row, CallLeg.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason[:64])
        )


def close_call(db: Database, call_id: str, outcome: str) -> None:
    """End the call and any leg still open; a call already closed keeps its first outcome."""
    now = utcnow()
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


def reap_stale_workers(db: Database, stale_after_seconds: float) -> list[str]:
    """Close as failed the open calls of every live worker whose heartbeat is stale.

    The dead worker is marked not alive, its dispatcher row removed (so the edge stops sending
    it calls) and agents claimed by its calls are made available again. Returns the names.
    """
    cutoff = utcnow() - timedelta(seconds=stale_after_seconds)
    now = utcnow()
    reaped: list[str] = []
    with db.session() as session:
        stale = session.scalars(
            select(Worker).where(Worker.alive.is_(True), Worker.heartbeat_at < cutoff)
        ).all()
        for worker in stale:
            claimed = changed_rows(
                session,
                update(Worker)
                .where(Worker.id == worker.id, Worker.alive.is_(True), Worker.heartbeat_at < cutoff)
                .values(alive=False, load=0),
            )
            if claimed != 1:
                continue  # someone else reaped it, or it came back
            open_ids = session.scalars(
                select(Call.id).where(Call.worker_id == worker.id, Call.ended_at.is_(None))
            ).all()
            if open_ids:
                session.execute(
                    update(Call)
                    .where(Call.id.in_(open_ids))
                    .values(state=CallState.ENDED, ended_at=now, outcome=FAILED)
                )
                session.execute(
                    update(CallLeg)
                    .where(CallLeg.call_id.in_(open_ids), CallLeg.ended_at.is_(None))
                    .values(ended_at=now, end_reason="worker failed")
                )
                agents.reap(session, open_ids, now)
            session.execute(
                delete(dispatcher).where(
                    dispatcher.c.destination == f"sip:{worker.host}:{worker.sip_port}"
                )
            )
            reaped.append(worker.name)
    return reaped
