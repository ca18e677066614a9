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
    Device,
    Queue,
    QueueEntry,
    RouteDecision,
    utcnow,
)
from telephony.relationships import Pair, blocked_pairs, relationship_agents

WAITING, OFFERED, CONNECTED, ABANDONED = "waiting", "offered", "connected", "abandoned"
CALL, CALLBACK = "call", "callback"
KINDS = frozenset({CALL, CALLBACK})
DEFAULT_RELATIONSHIP_WAIT_SECONDS = 20
DEFAULT_RING_TIMEOUT_SECONDS = 15
DEFAULT_SKILL_WAIT_SECONDS = 60
DEFAULT_CALLBACK_ATTEMPTS = 3
DEFAULT_CALLBACK_RETRY_SECONDS = 120
AGENT_FIRST, CUSTOMER_FIRST = "agent_first", "customer_first"
CLOSED = "closed"  # a callback given up on (its outcome says why)
#: Each point of priority counts as this much time in line: a priority-2 caller goes before
#: anyone who has waited up to a minute longer, never before someone who waited longer still,
#: so no queue starves.
PRIORITY_SECONDS = 30
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


@dataclass(frozen=True)
class _FreeAgent:
    id: int
    name: str
    extension: str
    skills: list[str]
    queues: list[str]
    state_since: datetime

    def serves(self, queue: str) -> bool:
        """Whether the agent takes callers of *queue* (no queues listed: every queue)."""
        return not self.queues or queue in self.queues


def _agents(session: Session) -> tuple[list[_FreeAgent], dict[int, AgentState]]:
    """The free agents, longest idle first, and every agent's state, in one query."""
    rows = session.execute(
        select(
            Agent.id,
            Agent.name,
            Agent.skills,
            Agent.queues,
            Agent.state,
            Agent.state_since,
            Device.extension,
        )
        .outerjoin(Device, Agent.device_id == Device.id)
        .order_by(Agent.state_since, Agent.id)
    ).all()
    free = [
        _FreeAgent(
            row.id,
            row.name,
            row.extension,
            list(row.skills or []),
            list(row.queues or []),
            row.state_since,
        )
        for row in rows
        if row.state == AgentState.AVAILABLE and row.extension is not None
    ]
    return free, {row.id: row.state for row in rows}


def _free_agents(session: Session) -> list[_FreeAgent]:
    return _agents(session)[0]


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
        free, states = _agents(session)
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
    return session.scalar(select(Queue).where(Queue.name == name)) or _default_queue(name)


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


def line_key(entry: QueueEntry) -> tuple[datetime, int]:
    """An entry's place in line across every queue: time in line, advanced by its priority."""
    return entry.enqueued_at - timedelta(seconds=PRIORITY_SECONDS * entry.priority), entry.id


def _ordered_waiting(session: Session) -> list[QueueEntry]:
    entries = session.scalars(select(QueueEntry).where(QueueEntry.state == WAITING))
    return sorted(entries, key=line_key)


@dataclass
class _Floor:
    """What one planning round sees: free agents, everyone's state, queues, blocks."""

    free: dict[int, _FreeAgent]
    states: dict[int, AgentState]
    queues: dict[str, Queue]
    blocked: set[Pair]
    awaited: dict[int, int]  # agent -> how many waiting callers hold out for them
    now: datetime

    def queue(self, name: str) -> Queue:
        return self.queues.get(name) or _default_queue(name)

    def allowed(self, entry: QueueEntry, agent: _FreeAgent) -> bool:
        """The agent serves the entry's queue and is not blocked for its customer."""
        return agent.serves(entry.queue) and (entry.customer_id, agent.id) not in self.blocked


def _default_queue(name: str) -> Queue:
    return Queue(
        name=name,
        skill=None,
        priority=0,
        relationship_wait_seconds=DEFAULT_RELATIONSHIP_WAIT_SECONDS,
        ring_timeout_seconds=DEFAULT_RING_TIMEOUT_SECONDS,
        skill_wait_seconds=DEFAULT_SKILL_WAIT_SECONDS,
        callback_mode=AGENT_FIRST,
        callback_attempts=DEFAULT_CALLBACK_ATTEMPTS,
        callback_retry_seconds=DEFAULT_CALLBACK_RETRY_SECONDS,
        identify_by_caller_id=True,
    )


def _held_for(entry: QueueEntry, floor: _Floor) -> list[int]:
    """The related agents this entry may still hold out for (soon free, within the wait)."""
    if floor.now >= entry.wait_until:
        return []
    skipped = set(entry.skipped_agents or [])
    return [
        agent_id
        for agent_id, _ in entry.relationship_agents or []
        if agent_id not in skipped
        and (entry.customer_id, agent_id) not in floor.blocked
        and floor.states.get(agent_id) in agents.SOON_FREE
    ]


def _choose(entry: QueueEntry, floor: _Floor) -> tuple[_FreeAgent, str] | None:
    """The agent this entry gets now, with the step's reason, or None (keep waiting).

    Steps: a related agent (preferred, or who last served them) while free; hold out for one
    who may soon be free until the relationship wait is over; then the longest idle with the
    skill, sparing agents other callers hold out for; after the skill wait, anyone serving the
    queue. Negative affinity and queue membership apply at every step.
    """
    free, now = floor.free, floor.now
    skipped = set(entry.skipped_agents or [])
    related: Sequence[Any] = entry.relationship_agents or []
    for agent_id, why in related:
        agent = free.get(agent_id)
        if agent is not None and agent_id not in skipped and floor.allowed(entry, agent):
            return agent, why
    held = _held_for(entry, floor)
    if held:
        return None
    skill_words = f" with skill {entry.skill}" if entry.skill else ""
    after_wait = " (their usual agent was not free within the wait)" if related else ""

    def spare(agent: _FreeAgent) -> tuple[bool, bool]:  # stable sort keeps the idle order
        return agent.id in skipped, floor.awaited.get(agent.id, 0) > 0

    allowed = [a for a in free.values() if floor.allowed(entry, a)]
    suitable = [a for a in allowed if entry.skill is None or entry.skill in a.skills]
    step = f"longest idle{skill_words}{after_wait}"
    skill_wait = timedelta(seconds=floor.queue(entry.queue).skill_wait_seconds)
    if not suitable and entry.skill and now >= entry.enqueued_at + skill_wait:
        suitable = allowed
        step = f"anyone serving {entry.queue} (no agent{skill_words} free within the wait)"
    for agent in sorted(suitable, key=spare):
        retry = " (tried again after no answer)" if agent.id in skipped else ""
        return agent, f"{step}{retry}"
    return None


def _due(entry: QueueEntry, now: datetime) -> bool:
    """A callback waits out the spacing between its tries; a caller is always due."""
    return entry.next_attempt_at is None or entry.next_attempt_at <= now


_Step = tuple[QueueEntry, _FreeAgent, str, Queue]  # who, to whom, why, the queue's settings


def _plan(session: Session, now: datetime) -> list[_Step]:
    """Hand free agents to waiting entries in line order (`line_key`), across every queue."""
    free_agents, states = _agents(session)
    if not free_agents:
        return []
    free = {agent.id: agent for agent in free_agents}
    waiting = [entry for entry in _ordered_waiting(session) if _due(entry, now)]
    if not waiting:
        return []
    floor = _Floor(
        free=free,
        states=states,
        queues={queue.name: queue for queue in session.scalars(select(Queue))},
        blocked=blocked_pairs(session, (entry.customer_id for entry in waiting)),
        awaited={},
        now=now,
    )
    for entry in waiting:
        for agent_id in _held_for(entry, floor):
            floor.awaited[agent_id] = floor.awaited.get(agent_id, 0) + 1
    plan: list[_Step] = []
    for entry in waiting:
        if not free:
            break
        choice = _choose(entry, floor)
        if choice is not None:
            agent, why = choice
            del free[agent.id]
            plan.append((entry, agent, why, floor.queue(entry.queue)))
    return plan


def _take(
    db: Database,
    entry: QueueEntry,
    agent: _FreeAgent,
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
            plan = _plan(session, now or utcnow())
        mine = next((step for step in plan if step[0].id == entry_id), None)
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
        plan = [step for step in _plan(session, now or utcnow()) if step[0].kind in kinds]
    offers = [_take(db, *step, worker=worker) for step in plan]
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
        ids = [entry.id for entry in _ordered_waiting(session)]
    return ids.index(entry_id) + 1 if entry_id in ids else 0
