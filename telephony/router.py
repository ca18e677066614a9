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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import agents
from store.db import Database, changed_rows
from store.models import (
    Agent,
    AgentState,
    Call,
    Customer,
    Device,
    Interaction,
    Queue,
    QueueEntry,
    RouteDecision,
    utcnow,
)

WAITING, OFFERED, CONNECTED, ABANDONED = "waiting", "offered", "connected", "abandoned"
CALL, CALLBACK = "call", "callback"
DEFAULT_RELATIONSHIP_WAIT_SECONDS = 20
DEFAULT_RING_TIMEOUT_SECONDS = 15
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


@dataclass(frozen=True)
class _FreeAgent:
    id: int
    name: str
    extension: str
    skills: list[str]
    state_since: datetime


def _free_agents(session: Session) -> list[_FreeAgent]:
    rows = session.execute(
        select(Agent.id, Agent.name, Agent.skills, Agent.state_since, Device.extension)
        .join(Device, Agent.device_id == Device.id)
        .where(Agent.state == AgentState.AVAILABLE)
        .order_by(Agent.state_since, Agent.id)
    ).all()
    return [
        _FreeAgent(row.id, row.name, row.extension, list(row.skills or []), row.state_since)
        for row in rows
    ]


def _record(session: Session, call_id: str, entry_id: int | None, agent_id: int, why: str) -> None:
    session.add(RouteDecision(call_id=call_id, entry_id=entry_id, agent_id=agent_id, reason=why))


def relationship_agents(session: Session, customer_id: int | None) -> list[tuple[int, str]]:
    """The agents who know this customer, best first, each with the reason in words."""
    if customer_id is None:
        return []
    found: list[tuple[int, str]] = []
    customer = session.get(Customer, customer_id)
    if customer is not None and customer.preferred_agent_id is not None:
        found.append((customer.preferred_agent_id, "preferred agent on the customer's profile"))
    last_interaction = session.execute(
        select(Interaction.agent_id, Interaction.at)
        .where(Interaction.customer_id == customer_id, Interaction.agent_id.is_not(None))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(1)
    ).first()
    last_call = session.execute(
        select(Call.agent_id, Call.started_at)
        .where(Call.customer_id == customer_id, Call.agent_id.is_not(None))
        .order_by(Call.started_at.desc())
        .limit(1)
    ).first()
    latest = max(
        (row for row in (last_interaction, last_call) if row is not None),
        key=lambda row: row[1],
        default=None,
    )
    if latest is not None and all(agent_id != latest[0] for agent_id, _ in found):
        found.append((latest[0], f"last served this customer on {latest[1]:%Y-%m-%d}"))
    return found


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
        free = _free_agents(session)
        related = relationship_agents(session, customer_id)
        states = dict(session.execute(select(Agent.id, Agent.state)).tuples().all())
    by_id = {agent.id: agent for agent in free}
    wanted = [(a, "preferred agent") for a in (preferred or [])] + related
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
    queue = session.scalar(select(Queue).where(Queue.name == name))
    return queue or Queue(
        name=name,
        skill=None,
        priority=0,
        relationship_wait_seconds=DEFAULT_RELATIONSHIP_WAIT_SECONDS,
        ring_timeout_seconds=DEFAULT_RING_TIMEOUT_SECONDS,
    )


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
        entry = QueueEntry(
            call_id=call_id,
            queue=queue,
            kind=CALL,
            state=WAITING,
            customer_id=customer_id,
            caller=caller,
            skill=skill if skill is not None else settings.skill,
            priority=priority if priority is not None else settings.priority,
            relationship_agents=[list(pair) for pair in relationship_agents(session, customer_id)],
            wait_until=now + timedelta(seconds=settings.relationship_wait_seconds),
            enqueued_at=now,
            worker=worker,
            updated_at=now,
        )
        session.add(entry)
        session.flush()
        return entry.id


def _ordered_waiting(session: Session) -> list[QueueEntry]:
    return list(
        session.scalars(
            select(QueueEntry)
            .where(QueueEntry.state == WAITING)
            .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id)
        )
    )


def _choose(
    entry: QueueEntry,
    free: dict[int, _FreeAgent],
    states: dict[int, AgentState],
    now: datetime,
) -> tuple[_FreeAgent, str] | None:
    """The agent this entry should get now from *free* (ordered longest idle first), or None."""
    skipped = set(entry.skipped_agents or [])
    related: Sequence[Any] = entry.relationship_agents or []
    for agent_id, why in related:
        if agent_id in free and agent_id not in skipped:
            return free[agent_id], why
    waiting_for = [
        agent_id
        for agent_id, _ in related
        if agent_id not in skipped and states.get(agent_id) in agents.SOON_FREE
    ]
    if waiting_for and now < entry.wait_until:
        return None
    skill_words = f" with skill {entry.skill}" if entry.skill else ""
    after_wait = " (their usual agent was not free within the wait)" if related else ""
    suitable = [a for a in free.values() if entry.skill is None or entry.skill in a.skills]
    for agent in sorted(suitable, key=lambda a: a.id in skipped):  # stable: idle order kept
        retry = " (tried again after no answer)" if agent.id in skipped else ""
        return agent, f"longest idle{skill_words}{after_wait}{retry}"
    return None


def _plan(session: Session, now: datetime) -> list[tuple[QueueEntry, _FreeAgent, str]]:
    """Hand free agents to waiting entries in queue order: priority first, then time in line."""
    free = {agent.id: agent for agent in _free_agents(session)}
    states = dict(session.execute(select(Agent.id, Agent.state)).tuples().all())
    plan: list[tuple[QueueEntry, _FreeAgent, str]] = []
    for entry in _ordered_waiting(session):
        if not free:
            break
        choice = _choose(entry, free, states, now)
        if choice is not None:
            agent, why = choice
            del free[agent.id]
            plan.append((entry, agent, why))
    return plan


def _take(
    db: Database, entry: QueueEntry, agent: _FreeAgent, why: str, worker: str | None
) -> Offer | None:
    """Claim the agent, then the entry; undo the agent claim if the entry moved meanwhile."""
    if not agents.claim(db, agent.id, entry.call_id):
        return None
    with db.session() as session:
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
        ring_timeout = queue_settings(session, entry.queue).ring_timeout_seconds
        if taken == 1:
            _record(session, entry.call_id, entry.id, agent.id, why)
    if taken != 1:
        agents.unclaim(db, agent.id, entry.call_id, agent.state_since)
        return None
    return Offer(
        entry_id=entry.id,
        call_id=entry.call_id,
        kind=entry.kind,
        agent=ClaimedAgent(agent.id, agent.name, agent.extension, why),
        customer_id=entry.customer_id,
        caller=entry.caller,
        callback_number=entry.callback_number,
        ring_timeout_seconds=ring_timeout,
    )


def offer_next(db: Database, entry_id: int, now: datetime | None = None) -> Offer | None:
    """Claim an agent for this waiting caller when it is their turn; None means keep waiting."""
    for _ in range(_CLAIM_ATTEMPTS):
        with db.session() as session:
            plan = _plan(session, now or utcnow())
        mine = next((step for step in plan if step[0].id == entry_id), None)
        if mine is None:
            return None
        offer = _take(db, *mine, worker=None)
        if offer is not None:
            return offer
    return None


def claim_callbacks(db: Database, worker: str, now: datetime | None = None) -> list[Offer]:
    """Claim agents for callback requests whose turn has come; *worker* then places the calls."""
    with db.session() as session:
        plan = [step for step in _plan(session, now or utcnow()) if step[0].kind == CALLBACK]
    offers = [_take(db, *step, worker=worker) for step in plan]
    return [offer for offer in offers if offer is not None]


def _entry(session: Session, entry_id: int) -> QueueEntry:
    entry = session.get(QueueEntry, entry_id)
    if entry is None:
        raise LookupError(f"no queue entry {entry_id}")
    return entry


def _close_decision(session: Session, entry_id: int, agent_id: int | None, outcome: str) -> None:
    decision = session.scalar(
        select(RouteDecision)
        .where(RouteDecision.entry_id == entry_id, RouteDecision.agent_id == agent_id)
        .order_by(RouteDecision.id.desc())
        .limit(1)
    )
    if decision is not None and decision.outcome == "offered":
        decision.outcome = outcome


def answered(db: Database, entry_id: int) -> None:
    """The agent picked up: the entry leaves the line and the agent is on the call."""
    with db.session() as session:
        entry = _entry(session, entry_id)
        entry.state, entry.updated_at = CONNECTED, utcnow()
        _close_decision(session, entry_id, entry.agent_id, "answered")
        agent_id = entry.agent_id
    if agent_id is not None:
        agents.answer(db, agent_id)


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
        ids = [entry.id for entry in _ordered_waiting(session)]
    return ids.index(entry_id) + 1 if entry_id in ids else 0
