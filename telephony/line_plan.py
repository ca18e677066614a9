"""The line across queues and the choice of an agent for each caller in it, one round at a time.

`plan` reads the floor in two statements (the agents with their devices; the waiting entries
joined with their queue's settings and their customer's blocks), walks the waiting entries in
line order (`line_key`: time in line advanced by the queue's priority) and gives each the agent
its steps choose (`choose`); `telephony.router` then claims them. Pure decisions: the only
writes are the router's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.orm import Session

from store import agents
from store.db import core
from store.models import Agent, AgentState, Device, Queue, QueueEntry, RoutingBlock
from telephony.relationships import Pair

WAITING = "waiting"
AGENT_FIRST, CUSTOMER_FIRST = "agent_first", "customer_first"
DEFAULT_RELATIONSHIP_WAIT_SECONDS = 20
DEFAULT_RING_TIMEOUT_SECONDS = 15
DEFAULT_SKILL_WAIT_SECONDS = 60
DEFAULT_CALLBACK_ATTEMPTS = 3
DEFAULT_CALLBACK_RETRY_SECONDS = 120
#: Each point of priority counts as this much time in line: a priority-2 caller goes before
#: anyone who has waited up to a minute longer, never before someone who waited longer still,
#: so no queue starves.
PRIORITY_SECONDS = 30


@dataclass(frozen=True)
class FreeAgent:
    id: int
    name: str
    extension: str
    skills: list[str]
    queues: list[str]
    state_since: datetime

    def serves(self, queue: str) -> bool:
        """Whether the agent takes callers of *queue* (no queues listed: every queue)."""
        return not self.queues or queue in self.queues


def free_and_states(
    session: Session | Connection,
) -> tuple[list[FreeAgent], dict[int, AgentState]]:
    """The free agents, longest idle first, and every agent's state, in one query."""
    rows = core(session).execute(_FLOOR).all()
    free = [
        FreeAgent(
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


_FLOOR = (
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
)


@dataclass(frozen=True)
class Waiting:
    """A waiting queue entry as one planning round sees it, with its queue's settings."""

    id: int
    call_id: str
    queue: str
    kind: str
    customer_id: int | None
    caller: str | None
    callback_number: str | None
    skill: str | None
    priority: int
    relationship_agents: list[Any]
    skipped_agents: list[Any]
    wait_until: datetime
    enqueued_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    skill_wait_seconds: int
    ring_timeout_seconds: int
    callback_mode: str


_ENTRY_COLUMNS = (
    QueueEntry.id,
    QueueEntry.call_id,
    QueueEntry.queue,
    QueueEntry.kind,
    QueueEntry.customer_id,
    QueueEntry.caller,
    QueueEntry.callback_number,
    QueueEntry.skill,
    QueueEntry.priority,
    QueueEntry.relationship_agents,
    QueueEntry.skipped_agents,
    QueueEntry.wait_until,
    QueueEntry.enqueued_at,
    QueueEntry.attempts,
    QueueEntry.next_attempt_at,
)
#: Every waiting entry with its queue's settings (none configured: NULLs, the defaults) and
#: each agent its customer asked never to reach (one row per block; no block: one row).
_WAITING_LINE = (
    select(
        *_ENTRY_COLUMNS,
        Queue.skill_wait_seconds,
        Queue.ring_timeout_seconds,
        Queue.callback_mode,
        RoutingBlock.agent_id.label("blocked_agent"),
    )
    .outerjoin(Queue, Queue.name == QueueEntry.queue)
    .outerjoin(RoutingBlock, RoutingBlock.customer_id == QueueEntry.customer_id)
    .where(QueueEntry.state == WAITING)
)


def _waiting(row: Row[Any]) -> Waiting:
    return Waiting(
        id=row.id,
        call_id=row.call_id,
        queue=row.queue,
        kind=row.kind,
        customer_id=row.customer_id,
        caller=row.caller,
        callback_number=row.callback_number,
        skill=row.skill,
        priority=row.priority,
        relationship_agents=row.relationship_agents or [],
        skipped_agents=row.skipped_agents or [],
        wait_until=row.wait_until,
        enqueued_at=row.enqueued_at,
        attempts=row.attempts or 0,
        next_attempt_at=row.next_attempt_at,
        skill_wait_seconds=_or(row.skill_wait_seconds, DEFAULT_SKILL_WAIT_SECONDS),
        ring_timeout_seconds=_or(row.ring_timeout_seconds, DEFAULT_RING_TIMEOUT_SECONDS),
        callback_mode=row.callback_mode or AGENT_FIRST,
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def blocked_in_line(rows: Sequence[Row[Any]]) -> set[Pair]:
    """The (customer, agent) pairs the waiting line's rows say must never be routed."""
    return {(row.customer_id, row.blocked_agent) for row in rows if row.blocked_agent is not None}


def read_line(session: Session | Connection) -> tuple[list[Waiting], set[Pair]]:
    """Everyone waiting, in line order, and their customers' blocks: one statement."""
    rows = core(session).execute(_WAITING_LINE).all()
    entries = {row.id: _waiting(row) for row in rows}
    return sorted(entries.values(), key=line_key), blocked_in_line(rows)


def line_key(entry: Waiting) -> tuple[datetime, int]:
    """An entry's place in line across every queue: time in line, advanced by its priority."""
    return entry.enqueued_at - timedelta(seconds=PRIORITY_SECONDS * entry.priority), entry.id


def ordered_waiting(session: Session | Connection) -> list[Waiting]:
    return read_line(session)[0]


@dataclass
class _Floor:
    """What one planning round sees: free agents, everyone's state, blocks."""

    free: dict[int, FreeAgent]
    states: dict[int, AgentState]
    blocked: set[Pair]
    awaited: dict[int, int]  # agent -> how many waiting callers hold out for them
    now: datetime

    def allowed(self, entry: Waiting, agent: FreeAgent) -> bool:
        """The agent serves the entry's queue and is not blocked for its customer."""
        return agent.serves(entry.queue) and (entry.customer_id, agent.id) not in self.blocked


def default_queue(name: str) -> Queue:
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
        callback_offer=True,
        identify_by_caller_id=True,
    )


def _held_for(entry: Waiting, floor: _Floor) -> list[int]:
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


def choose(entry: Waiting, floor: _Floor) -> tuple[FreeAgent, str] | None:
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

    def spare(agent: FreeAgent) -> tuple[bool, bool]:  # stable sort keeps the idle order
        return agent.id in skipped, floor.awaited.get(agent.id, 0) > 0

    allowed = [a for a in free.values() if floor.allowed(entry, a)]
    suitable = [a for a in allowed if entry.skill is None or entry.skill in a.skills]
    step = f"longest idle{skill_words}{after_wait}"
    skill_wait = timedelta(seconds=entry.skill_wait_seconds)
    if not suitable and entry.skill and now >= entry.enqueued_at + skill_wait:
        suitable = allowed
        step = f"anyone serving {entry.queue} (no agent{skill_words} free within the wait)"
    for agent in sorted(suitable, key=spare):
        retry = " (tried again after no answer)" if agent.id in skipped else ""
        return agent, f"{step}{retry}"
    return None


def _due(entry: Waiting, now: datetime) -> bool:
    """A callback waits out the spacing between its tries; a caller is always due."""
    return entry.next_attempt_at is None or entry.next_attempt_at <= now


Step = tuple[Waiting, FreeAgent, str]  # who, to whom, why


def plan(session: Session | Connection, now: datetime) -> list[Step]:
    """Hand free agents to waiting entries in line order (`line_key`), across every queue."""
    idle, states = free_and_states(session)
    if not idle:
        return []
    free = {agent.id: agent for agent in idle}
    line, blocked = read_line(session)
    waiting = [entry for entry in line if _due(entry, now)]
    if not waiting:
        return []
    floor = _Floor(free=free, states=states, blocked=blocked, awaited={}, now=now)
    for entry in waiting:
        for agent_id in _held_for(entry, floor):
            floor.awaited[agent_id] = floor.awaited.get(agent_id, 0) + 1
    plan: list[Step] = []
    for entry in waiting:
        if not free:
            break
        choice = choose(entry, floor)
        if choice is not None:
            agent, why = choice
            del free[agent.id]
            plan.append((entry, agent, why))
    return plan
