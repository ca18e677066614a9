"""What a dead switch worker leaves behind, put right: its calls, agents, queue entries, callbacks.

A worker that dies (``kill -9``, a crash, its machine gone) cannot close anything itself.
Whoever notices closes it in one transaction (`bury`):

- its open calls are closed as ``failed`` (the CDR, and every open leg ``worker failed``);
- the agents those calls had claimed (ringing or on a call) are available again;
- its callers still waiting in line, or being offered an agent, are ``abandoned``: they are
  no longer on any phone, and left waiting they would take agents ahead of live callers;
- callback requests it had claimed and not yet connected go back in line at their old
  place (``waiting``, any worker claims them again), and the agent rung for them is freed:
  a callback is never lost with the worker that was placing it;
- its ``dispatcher`` row goes, so a DB-backed edge stops sending it calls.

Three moments notice a death: a stale heartbeat (`reap_stale_workers`, run by every live
worker and ``centralino status``), its parent seeing it exit (`bury_exited_worker`,
``centralino up``), and a worker starting again under its old name
(`telephony.heartbeat.register_worker`), which may come back before its heartbeat is stale:
a freshly started process has no calls, so anything its row still holds is a previous life's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from store import agents
from store.db import Database, changed_rows
from store.kamailio_tables import dispatcher
from store.models import Agent, AgentState, Call, CallLeg, CallState, QueueEntry, Worker, utcnow
from telephony.router import ABANDONED, CALL, CALLBACK, CONNECTED, OFFERED, WAITING

FAILED = "failed"
WORKER_FAILED = "worker failed"


def reap_stale_workers(
    db: Database, stale_after_seconds: float, reaper_id: int | None = None
) -> list[str]:
    """Bury every worker marked alive whose heartbeat is older than *stale_after_seconds*,
    except the reaper itself (*reaper_id*: a worker that runs this is alive, whatever its row
    says; a beat that waited long for the database lock stores the time it was made).

    Each is marked not alive first (a compare-and-set, so of several reapers one wins and a
    worker whose heartbeat came back meanwhile is left alone). Returns the names buried."""
    cutoff = utcnow() - timedelta(seconds=stale_after_seconds)
    reaped: list[str] = []
    with db.session() as session:
        query = select(Worker).where(Worker.alive.is_(True), Worker.heartbeat_at < cutoff)
        if reaper_id is not None:
            query = query.where(Worker.id != reaper_id)
        stale = session.scalars(query).all()
        for worker in stale:
            claimed = changed_rows(
                session,
                update(Worker)
                .where(Worker.id == worker.id, Worker.alive.is_(True), Worker.heartbeat_at < cutoff)
                .values(alive=False, load=0),
            )
            if claimed != 1:
                continue  # someone else reaped it, or it came back
            _bury_and_undispatch(session, worker)
            reaped.append(worker.name)
    return reaped


def bury_exited_worker(db: Database, name: str, pid: int) -> bool:
    """The worker *name* running as *pid* has exited (its parent saw it): bury it now, without
    waiting for its heartbeat to go stale. False when that life was already buried."""
    with db.session() as session:
        worker = session.scalar(select(Worker).where(Worker.name == name, Worker.pid == pid))
        if worker is None:
            return False
        claimed = changed_rows(
            session,
            update(Worker)
            .where(Worker.id == worker.id, Worker.pid == pid, Worker.alive.is_(True))
            .values(alive=False, load=0),
        )
        if claimed != 1:
            return False
        _bury_and_undispatch(session, worker)
        return True


def _bury_and_undispatch(session: Session, worker: Worker) -> None:
    bury(session, worker)
    session.execute(
        delete(dispatcher).where(dispatcher.c.destination == f"sip:{worker.host}:{worker.sip_port}")
    )


def bury(session: Session, worker: Worker, now: datetime | None = None) -> list[str]:
    """Close what *worker* left open (see the module); the ids of the calls closed as failed."""
    now = now or utcnow()
    open_ids = list(
        session.scalars(
            select(Call.id).where(Call.worker_id == worker.id, Call.ended_at.is_(None))
        ).all()
    )
    if open_ids:
        session.execute(
            update(Call)
            .where(Call.id.in_(open_ids))
            .values(state=CallState.ENDED, ended_at=now, outcome=FAILED)
        )
        session.execute(
            update(CallLeg)
            .where(CallLeg.call_id.in_(open_ids), CallLeg.ended_at.is_(None))
            .values(ended_at=now, end_reason=WORKER_FAILED)
        )
    claims = open_ids + _release_queue_entries(session, worker.name, now)
    agents.reap(session, claims, now)
    return open_ids


def _release_queue_entries(session: Session, worker: str, now: datetime) -> list[str]:
    """Abandon the dead worker's callers in line; put its unconnected callbacks back in line.
    Returns the call ids whose claims on agents must be reaped too."""
    entries = session.scalars(
        select(QueueEntry).where(
            QueueEntry.worker == worker,
            or_(
                QueueEntry.state.in_((WAITING, OFFERED)) & (QueueEntry.kind == CALL),
                QueueEntry.state.in_((OFFERED, CONNECTED)) & (QueueEntry.kind == CALLBACK),
            ),
        )
    ).all()
    claims: list[str] = []
    for entry in entries:
        if entry.kind == CALL:
            entry.state = ABANDONED
        elif entry.state == OFFERED or _callback_not_reached(session, entry):
            entry.state = WAITING  # same enqueued_at: the request keeps its place
            entry.worker = None
        else:
            continue  # the callback reached the customer; that call was closed as failed
        claims.append(entry.call_id)
        entry.agent_id, entry.route_reason, entry.updated_at = None, WORKER_FAILED, now
    return claims


def _callback_not_reached(session: Session, entry: QueueEntry) -> bool:
    """A connected callback whose agent answered but was never bridged with the customer:
    the agent is still claimed by the request's call (a bridge re-claims them by the new one)."""
    if entry.agent_id is None:
        return False
    agent = session.get(Agent, entry.agent_id)
    return (
        agent is not None
        and agent.claimed_by_call == entry.call_id
        and agent.state in (AgentState.RINGING, AgentState.ON_CALL)
    )
