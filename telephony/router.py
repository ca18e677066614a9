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

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from store import agents
from store.db import Database, core
from store.models import (
    Queue,
    QueueEntry,
    RouteDecision,
    utcnow,
)
from telephony import line_plan
from telephony.line_plan import (
    AGENT_FIRST,
    FreeAgent,
    Step,
    Waiting,
    default_queue,
    free_and_states,
    ordered_waiting,
)
from telephony.relationships import blocked_pairs, known_agents, relationship_agents

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
    preferred: list[int] | None = None,
) -> int:
    """Put a caller in line; returns the entry id the worker passes to the other calls.
    Agents the call flow *preferred* go before the ones who know the customer."""
    now = now or utcnow()
    first = list(preferred or [])
    with db.transaction() as connection:
        rules = connection.execute(_QUEUE_RULES, {"name": queue}).first()
        default = default_queue(queue)
        rules_skill, rules_priority, wait = (
            rules if rules is not None else (None, 0, default.relationship_wait_seconds)
        )
        known = [k for k in known_agents(connection, customer_id) if k.serves(queue)]
        related = [[agent_id, "preferred by the call flow"] for agent_id in first] + [
            [k.agent_id, k.why] for k in known if k.agent_id not in first
        ]
        values = {
            "call_id": call_id,
            "queue": queue,
            "kind": CALL,
            "state": WAITING,
            "customer_id": customer_id,
            "caller": caller,
            "skill": skill if skill is not None else rules_skill,
            "priority": priority if priority is not None else rules_priority,
            "relationship_agents": related,
            "wait_until": now + timedelta(seconds=wait),
            "enqueued_at": now,
            "worker": worker,
            "updated_at": now,
        }
        return int(connection.execute(_NEW_ENTRY, values).scalar_one())


_QUEUE_RULES = select(Queue.skill, Queue.priority, Queue.relationship_wait_seconds).where(
    Queue.name == bindparam("name")
)
_NEW_ENTRY = insert(QueueEntry).returning(QueueEntry.id)


def _claim_entries(
    session: Session | Connection, steps: list[Step], worker: str | None
) -> list[Offer]:
    """Claim each step's agent and entry in *session*'s transaction; a step whose agent or
    entry moved meanwhile is left out, changing nothing. Every agent is claimed before any
    entry, each kind in id order, so concurrent rounds on PostgreSQL lock rows in the same
    order and never deadlock; a step whose entry was taken gives its agent back (unclaim,
    same transaction: nobody saw the claim)."""
    since = utcnow()
    claimed = [
        step
        for step in sorted(steps, key=lambda step: step[1].id)
        if agents.move(
            session, step[1].id, "claim", claimed_by_call=step[0].call_id, state_since=since
        )
    ]
    offers: list[Offer] = []
    connection = core(session)
    for entry, agent, why in sorted(claimed, key=lambda step: step[0].id):
        values = {"entry": entry.id, "agent": agent.id, "why": why, "at": since}
        if worker is None:
            taken = connection.execute(_TAKE_ENTRY, values).rowcount
        else:
            taken = connection.execute(_TAKE_ENTRY_FOR, values | {"worker": worker}).rowcount
        if taken != 1:
            agents.move(
                session,
                agent.id,
                "unclaim",
                call_id=entry.call_id,
                claimed_by_call=None,
                state_since=agent.state_since,
            )
            continue
        offers.append(_offer(entry, agent, why))
    if offers:  # one statement for every decision of the round
        connection.execute(
            _NEW_DECISION,
            [
                {
                    "call_id": offer.call_id,
                    "entry_id": offer.entry_id,
                    "agent_id": offer.agent.agent_id,
                    "reason": offer.agent.reason,
                    "at": since,
                }
                for offer in offers
            ],
        )
    order = {step[0].id: n for n, step in enumerate(steps)}
    return sorted(offers, key=lambda offer: order[offer.entry_id])


_TAKE_ENTRY = (
    update(QueueEntry)
    .where(QueueEntry.id == bindparam("entry"), QueueEntry.state == WAITING)
    .values(
        state=OFFERED,
        agent_id=bindparam("agent"),
        route_reason=bindparam("why"),
        updated_at=bindparam("at"),
    )
)
_TAKE_ENTRY_FOR = _TAKE_ENTRY.values(worker=bindparam("worker"))
_NEW_DECISION = insert(RouteDecision)


def _offer(entry: Waiting, agent: FreeAgent, why: str) -> Offer:
    return Offer(
        entry_id=entry.id,
        call_id=entry.call_id,
        kind=entry.kind,
        agent=ClaimedAgent(agent.id, agent.name, agent.extension, why),
        customer_id=entry.customer_id,
        caller=entry.caller,
        callback_number=entry.callback_number,
        ring_timeout_seconds=entry.ring_timeout_seconds,
        callback_mode=entry.callback_mode,
        attempt=(entry.attempts or 0) + 1,
    )


def offer_next(db: Database, entry_id: int, now: datetime | None = None) -> Offer | None:
    """Claim an agent for this waiting caller when it is their turn; None means keep waiting.
    The round is read and the claim made in one session (one commit)."""
    for _ in range(_CLAIM_ATTEMPTS):
        with db.transaction() as connection:
            steps = line_plan.plan(connection, now or utcnow())
            mine = [step for step in steps if step[0].id == entry_id]
            if not mine:
                return None
            offers = _claim_entries(connection, mine, worker=None)
        if offers:
            return offers[0]
    return None


def offers_now(
    db: Database, worker: str | None, now: datetime | None = None, kinds: frozenset[str] = KINDS
) -> list[Offer]:
    """Every offer whose turn has come now, of these *kinds*, in line order (one planning
    round; what each waiting caller's `offer_next` would get, taken at once, in one
    transaction)."""
    with db.transaction() as connection:
        steps = [s for s in line_plan.plan(connection, now or utcnow()) if s[0].kind in kinds]
        return _claim_entries(connection, steps, worker) if steps else []


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


def _close_decision(
    session: Session | Connection, call_id: str, entry_id: int, agent_id: int, outcome: str
) -> None:
    """The open offer of this entry to this agent (there is at most one) gets its outcome;
    found through the call's id (indexed)."""
    core(session).execute(
        _CLOSE_DECISION,
        {"call": call_id, "entry": entry_id, "agent": agent_id, "outcome": outcome},
    )


_CLOSE_DECISION = (
    update(RouteDecision)
    .where(
        RouteDecision.call_id == bindparam("call"),
        RouteDecision.entry_id == bindparam("entry"),
        RouteDecision.agent_id == bindparam("agent"),
        RouteDecision.outcome == "offered",
    )
    .values(outcome=bindparam("outcome"))
)


def answered(db: Database, entry_id: int) -> None:
    """The agent picked up: the entry leaves the line and the agent is on the call (three
    updates in one transaction; the entry's update returns its agent and call)."""
    with db.transaction() as connection:
        row = connection.execute(_CONNECT, {"entry": entry_id, "at": utcnow()}).first()
        if row is None:
            raise LookupError(f"no queue entry {entry_id}")
        if row.agent_id is not None:
            _close_decision(connection, row.call_id, entry_id, row.agent_id, "answered")
            agents.move(connection, row.agent_id, "answer", state_since=utcnow())


_CONNECT = (
    update(QueueEntry)
    .where(QueueEntry.id == bindparam("entry"))
    .values(state=CONNECTED, updated_at=bindparam("at"))
    .returning(QueueEntry.agent_id, QueueEntry.call_id)
)


def no_answer(db: Database, entry_id: int) -> None:
    """The ring timed out: the agent goes to not ready and the caller back in line, same place."""
    with db.session() as session:
        entry = _entry(session, entry_id)
        agent_id = entry.agent_id
        if entry.state != OFFERED or agent_id is None:
            return
        _close_decision(session, entry.call_id, entry_id, agent_id, "no_answer")
        entry.skipped_agents = [*(entry.skipped_agents or []), agent_id]
        entry.state, entry.agent_id, entry.updated_at = WAITING, None, utcnow()
    agents.no_answer(db, agent_id)


def _leave_line(db: Database, entry_id: int, state: str, **values: Any) -> None:
    """Move an entry out of an offer (giving the agent back untouched) into *state*."""
    with db.session() as session:
        entry = _entry(session, entry_id)
        offered_to = entry.agent_id if entry.state == OFFERED else None
        if offered_to is not None:
            _close_decision(session, entry.call_id, entry_id, offered_to, "withdrawn")
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
