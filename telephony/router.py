"""Which agent gets which caller: queues, relationship-first choice and atomic agent claims.

A claim is a compare-and-set ``UPDATE ... WHERE state = 'available'`` so that several worker
processes never ring the same agent, on SQLite and PostgreSQL alike. Waiting callers are rows
of ``queue_entries``; their ``enqueued_at`` is their place in line, which a no-answer or a
switch to a callback never loses. Every offer is written to ``route_decisions`` with its reason.

The worker's side, for one caller::

    entry = enqueue(db, call_id, "support", customer_id=..., caller=..., worker="w1")
    while (offer := offer_next(db, entry)) is None:      # play music, announce position(...)
        ...                                               # or request_callback(db, entry, number)
    ring offer.agent.extension; then answered(db, entry) or no_answer(db, entry)
    on hang-up: store.agents.wrap_up(db, agent_id) or abandon(db, entry)

and periodically, from any worker: ``for offer in claim_callbacks(db, "w1"): ...`` (ring the
agent with the same screen pop, then call ``offer.callback_number``). The agents' states
and every move between them are `store.agents`; the router only decides who is offered what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import agents
from store.db import Database, changed_rows
from store.models import (
    Agent,
    Queue,
    QueueEntry,
    RouteDecision,
    utcnow,
)
from telephony import line_plan
from telephony.line_plan import (
    AGENT_FIRST,
    FreeAgent,
    default_queue,
    free_and_states,
    ordered_waiting,
)
from telephony.relationships import blocked_pairs, relationship_agents

WAITING, OFFERED, CONNECTED, ABANDONED = "waiting", "offered", "connected", "abandoned"
CALL, CALLBACK = "call", "callback"
KINDS = frozenset({CALL, CALLBACK})
CLOSED = "closed"  # a callback given up on (its outcome says why)
_CLAIM_ATTEMPTS = 8


@dataclass(frozen=True)
class ClaimedAgent:
    agent_id: int
    name: str
    extension: str
    reason: str


@dataclass(frozen=True)
class Offer:
    """An agent claimed for a queue entry: the worker rings ``agent.extension`` now."""

    entry_id: int
    call_id: str
    kind: str
    agent: ClaimedAgent
    customer_id: int | None
    caller: str | None
    callback_number: str | None
    ring_timeout_seconds: int
    callback_mode: str = AGENT_FIRST  # a callback: ring the agent first, or the customer
    attempt: int = 1  # a callback: which try this is


def _record(session: Session, call_id: str, entry_id: int | None, agent_id: int, why: str) -> None:
    session.add(RouteDecision(call_id=call_id, entry_id=entry_id, agent_id=agent_id, reason=why))


def claim_agent(
    db: Database,
    call_id: str,
    skill: str | None = None,
    preferred: list[int] | None = None,
    customer_id: int | None = None,
    related_wait_until: datetime | None = None,
) -> ClaimedAgent | None:
    """Claim a free preferred (or related) agent, else the longest-idle one with *skill*.

    This is the no-queue shortcut. Before *related_wait_until* it returns None (keep waiting)
    rather than give the caller to a stranger while one of their agents may soon be free.
    Queued callers, who keep their place in line, use `enqueue`/`offer_next` instead.
    """
    with db.session() as session:
        free, states = free_and_states(session)
        related = relationship_agents(session, customer_id)
        blocked = {agent for _, agent in blocked_pairs(session, [customer_id])}
    free = [agent for agent in free if agent.id not in blocked]
    by_id = {agent.id: agent for agent in free}
    wanted = [(a, "preferred agent") for a in (preferred or []) if a not in blocked] + related
    candidates = [(by_id[a], why) for a, why in wanted if a in by_id]
    may_wait = related_wait_until is not None and utcnow() < related_wait_until
    if not candidates and may_wait and any(states.get(a) in agents.SOON_FREE for a, _ in wanted):
        return None
    candidates += [
        (agent, f"longest idle with skill {skill}" if skill else "longest idle")
        for agent in free
        if skill is None or skill in agent.skills
    ]
    for agent, why in candidates:
        if agents.claim(db, agent.id, call_id):
            with db.session() as session:
                _record(session, call_id, None, agent.id, why)
            return ClaimedAgent(agent.id, agent.name, agent.extension, why)
    return None


def queue_settings(session: Session, name: str) -> Queue:
    """The queue row named *name*, or an unsaved one with the defaults when none is configured."""
    return session.scalar(select(Queue).where(Queue.name == name)) or default_queue(name)


def _serving(
    session: Session, related: list[tuple[int, str]], queue: str
) -> list[tuple[int, str]]:
    """The related agents who serve *queue* (no queues listed: every queue)."""
    if not related:
        return []
    rows = session.execute(
        select(Agent.id, Agent.queues).where(Agent.id.in_([a for a, _ in related]))
    ).tuples()
    serving = {agent_id for agent_id, queues in rows if not queues or queue in queues}
    return [(agent_id, why) for agent_id, why in related if agent_id in serving]


def enqueue(
    db: Database,
    call_id: str,
    queue: str = "support",
    *,
    customer_id: int | None = None,
    caller: str | None = None,
    skill: str | None = None,
    priority: int | None = None,
    worker: str | None = None,
    now: datetime | None = None,
) -> int:
    """Put a caller in line; returns the entry id the worker passes to the other calls."""
    now = now or utcnow()
    with db.session() as session:
        settings = queue_settings(session, queue)
        related = relationship_agents(session, customer_id)
        entry = QueueEntry(
            call_id=call_id,
            queue=queue,
            kind=CALL,
            state=WAITING,
            customer_id=customer_id,
            caller=caller,
            skill=skill if skill is not None else settings.skill,
            priority=priority if priority is not None else settings.priority,
            relationship_agents=[list(pair) for pair in _serving(session, related, queue)],
            wait_until=now + timedelta(seconds=settings.relationship_wait_seconds),
            enqueued_at=now,
            worker=worker,
            updated_at=now,
        )
        session.add(entry)
        session.flush()
        return entry.id


def _take(
    db: Database,
    entry: QueueEntry,
    agent: FreeAgent,
    why: str,
    settings: Queue,
    worker: str | None,
) -> Offer | None:
    """Claim the agent and the entry in one transaction; neither when either moved meanwhile."""
    with db.session() as session:
        if not agents.move(
            session, agent.id, "claim", claimed_by_call=entry.call_id, state_since=utcnow()
        ):
            return None
        values: dict[str, Any] = {
            "state": OFFERED,
            "agent_id": agent.id,
            "route_reason": why,
            "updated_at": utcnow(),
        }
        if worker is not None:
            values["worker"] = worker
        taken = changed_rows(
            session,
            update(QueueEntry)
            .where(QueueEntry.id == entry.id, QueueEntry.state == WAITING)
            .values(**values),
        )
        if taken != 1:
            session.rollback()  # the agent's claim goes too: they stay available, untouched
            return None
        _record(session, entry.call_id, entry.id, agent.id, why)
    return Offer(
        entry_id=entry.id,
        call_id=entry.call_id,
        kind=entry.kind,
        agent=ClaimedAgent(agent.id, agent.name, agent.extension, why),
        customer_id=entry.customer_id,
        caller=entry.caller,
        callback_number=entry.callback_number,
        ring_timeout_seconds=settings.ring_timeout_seconds,
        callback_mode=settings.callback_mode,
        attempt=(entry.attempts or 0) + 1,
    )


def offer_next(db: Database, entry_id: int, now: datetime | None = None) -> Offer | None:
    """Claim an agent for this waiting caller when it is their turn; None means keep waiting."""
    for _ in range(_CLAIM_ATTEMPTS):
        with db.session() as session:
            steps = line_plan.plan(session, now or utcnow())
        mine = next((step for step in steps if step[0].id == entry_id), None)
        if mine is None:
            return None
        offer = _take(db, *mine, worker=None)
        if offer is not None:
            return offer
    return None


def offers_now(
    db: Database, worker: str | None, now: datetime | None = None, kinds: frozenset[str] = KINDS
) -> list[Offer]:
    """Every offer whose turn has come now, of these *kinds*, in line order (one planning
    round; what each waiting caller's `offer_next` would get, taken at once)."""
    with db.session() as session:
        steps = [s for s in line_plan.plan(session, now or utcnow()) if s[0].kind in kinds]
    offers = [_take(db, *step, worker=worker) for step in steps]
    return [offer for offer in offers if offer is not None]


def claim_callbacks(db: Database, worker: str, now: datetime | None = None) -> list[Offer]:
    """Claim agents for callback requests whose turn has come; *worker* then places the calls.
    Each claimed callback holds its agent, so callbacks in flight never outnumber the agents
    free for them, in either callback mode."""
    return offers_now(db, worker, now, frozenset({CALLBACK}))


def _entry(session: Session, entry_id: int) -> QueueEntry:
    entry = session.get(QueueEntry, entry_id)
    if entry is None:
        raise LookupError(f"no queue entry {entry_id}")
    return entry


def _close_decision(session: Session, entry_id: int, agent_id: int | None, outcome: str) -> None:
    """The open offer of this entry to this agent (there is at most one) gets its outcome."""
    session.execute(
        update(RouteDecision)
        .where(
            RouteDecision.entry_id == entry_id,
            RouteDecision.agent_id == agent_id,
            RouteDecision.outcome == "offered",
        )
        .values(outcome=outcome)
    )


def answered(db: Database, entry_id: int) -> None:
    """The agent picked up: the entry leaves the line and the agent is on the call."""
    with db.session() as session:
        row = session.execute(select(QueueEntry.agent_id).where(QueueEntry.id == entry_id)).first()
        if row is None:
            raise LookupError(f"no queue entry {entry_id}")
        agent_id = row.agent_id
        session.execute(
            update(QueueEntry)
            .where(QueueEntry.id == entry_id)
            .values(state=CONNECTED, updated_at=utcnow())
        )
        if agent_id is not None:
            _close_decision(session, entry_id, agent_id, "answered")
            agents.move(session, agent_id, "answer", state_since=utcnow())


def no_answer(db: Database, entry_id: int) -> None:
    """The ring timed out: the agent goes to not ready and the caller back in line, same place."""
    with db.session() as session:
        entry = _entry(session, entry_id)
        agent_id = entry.agent_id
        if entry.state != OFFERED or agent_id is None:
            return
        _close_decision(session, entry_id, agent_id, "no_answer")
        entry.skipped_agents = [*(entry.skipped_agents or []), agent_id]
        entry.state, entry.agent_id, entry.updated_at = WAITING, None, utcnow()
    agents.no_answer(db, agent_id)


def _leave_line(db: Database, entry_id: int, state: str, **values: Any) -> None:
    """Move an entry out of an offer (giving the agent back untouched) into *state*."""
    with db.session() as session:
        entry = _entry(session, entry_id)
        offered_to = entry.agent_id if entry.state == OFFERED else None
        if offered_to is not None:
            _close_decision(session, entry_id, offered_to, "withdrawn")
        entry.state, entry.agent_id, entry.updated_at = state, None, utcnow()
        for name, value in values.items():
            setattr(entry, name, value)
        call_id = entry.call_id
    if offered_to is not None:
        agents.withdraw(db, offered_to, call_id)


def request_callback(db: Database, entry_id: int, number: str) -> None:
    """The caller pressed 1: keep their place, but call them back on *number* instead."""
    if not number.strip():
        raise ValueError("a callback needs a number to call")
    _leave_line(db, entry_id, WAITING, kind=CALLBACK, callback_number=number.strip())


def abandon(db: Database, entry_id: int) -> None:
    """The caller hung up while waiting (or ringing an agent, who goes back to available)."""
    _leave_line(db, entry_id, ABANDONED)


def position(db: Database, entry_id: int) -> int:
    """1-based place of a waiting entry among everyone waiting (0 when it is not waiting)."""
    with db.session() as session:
        ids = [entry.id for entry in ordered_waiting(session)]
    return ids.index(entry_id) + 1 if entry_id in ids else 0
