"""The generated floor and call mix: queues with priorities and skills, agents in several
queues, customers with a contact history (some returning, some with a preferred agent, some
who asked never to reach one agent), and calls with handle times, patience and callbacks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from store.models import (
    Agent,
    AgentState,
    Customer,
    Device,
    DeviceKind,
    Interaction,
    Queue,
    RoutingBlock,
)

START = datetime(2026, 3, 2, 8, 0, 0)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    skill: str | None
    priority: int
    share: float  # of the arrivals
    callback_mode: str = "agent_first"


@dataclass(frozen=True)
class Mix:
    """Everything a run depends on; the same *seed* gives the same run."""

    calls: int = 10_000
    seed: int = 7
    agents: int = 24
    customers: int = 3_000
    occupancy: float = 0.75  # offered load per logged-in agent (breaks come on top)
    handle_seconds: float = 180.0
    wrapup_seconds: int = 10
    returning: float = 0.5  # calls from a customer with an agent in their history
    preferred: float = 0.1  # customers with a preferred agent on their profile
    blocked: float = 0.03  # customers who asked never to reach one agent (often their last)
    anonymous: float = 0.2  # calls from no known customer
    patience_seconds: float = 240.0  # mean, exponential
    callback_share: float = 0.08  # callers who press 1 after a while in line
    callback_answer: float = 0.6  # a customer answers a callback try
    no_answer: float = 0.04  # an agent lets an offer ring out
    pause_every_seconds: float = 3600.0  # each agent takes a break about this often
    pause_seconds: float = 300.0
    relationship_wait_seconds: int = 20
    skill_wait_seconds: int = 60
    ring_timeout_seconds: int = 15
    callback_attempts: int = 3
    callback_retry_seconds: int = 120
    queues: tuple[QueueSpec, ...] = (
        QueueSpec("support", None, 0, 0.55),
        QueueSpec("billing", "billing", 1, 0.25, "customer_first"),
        QueueSpec("sales", "sales", 0, 0.20),
    )


@dataclass(frozen=True)
class SimAgent:
    id: int
    skills: frozenset[str]
    queues: frozenset[str]


@dataclass(frozen=True)
class SimCall:
    index: int
    at: float  # seconds after the start
    queue: str
    customer_id: int | None
    handle_seconds: float
    patience_seconds: float
    callback_after: float | None  # presses 1 after this long in line
    callback_answers: tuple[bool, ...]  # answers the 1st, 2nd, ... try


@dataclass
class Floor:
    """What the simulation knows of the floor it built (the oracle's own truth)."""

    agents: dict[int, SimAgent] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    blocked: set[tuple[int, int]] = field(default_factory=set)
    preferred: dict[int, int] = field(default_factory=dict)


def build(session: Session, mix: Mix, rng: random.Random) -> Floor:
    """Create queues, agents (each in one to three queues) and customers with history."""
    floor = Floor(queues={q.name: q for q in mix.queues})
    for spec in mix.queues:
        session.add(
            Queue(
                name=spec.name,
                skill=spec.skill,
                priority=spec.priority,
                relationship_wait_seconds=mix.relationship_wait_seconds,
                ring_timeout_seconds=mix.ring_timeout_seconds,
                skill_wait_seconds=mix.skill_wait_seconds,
                callback_mode=spec.callback_mode,
                callback_attempts=mix.callback_attempts,
                callback_retry_seconds=mix.callback_retry_seconds,
            )
        )
    names = [q.name for q in mix.queues]
    skills = [q.skill for q in mix.queues if q.skill]
    for n in range(mix.agents):
        served = {names[0]} if n % 4 == 0 else set(rng.sample(names, rng.randint(1, len(names))))
        known = {q.skill for q in mix.queues if q.name in served and q.skill}
        known |= {s for s in skills if rng.random() < 0.2}
        device = Device(
            kind=DeviceKind.SOFTPHONE, extension=f"7{n:03d}", sip_username=f"sim{n}", ha1="-"
        )
        agent = Agent(
            name=f"agent {n}",
            username=f"sim{n}",
            password_hash="-",
            skills=sorted(known),
            queues=sorted(served),
            state=AgentState.AVAILABLE,
            state_since=START - timedelta(seconds=mix.agents - n),
            wrapup_seconds=mix.wrapup_seconds,
            device=device,
        )
        session.add(agent)
        session.flush()
        floor.agents[agent.id] = SimAgent(agent.id, frozenset(known), frozenset(served))
    agent_ids = sorted(floor.agents)
    history: list[Interaction | RoutingBlock] = []
    for customer_id in range(1, mix.customers + 1):  # a fresh store: ids from 1
        customer = Customer(id=customer_id, name=f"customer {customer_id}")
        session.add(customer)
        last = rng.choice(agent_ids)
        if rng.random() < mix.returning:
            at = START - timedelta(days=rng.randint(1, 60))
            history.append(Interaction(customer_id=customer_id, agent_id=last, at=at))
        if rng.random() < mix.preferred:
            customer.preferred_agent_id = floor.preferred[customer_id] = rng.choice(agent_ids)
        if rng.random() < mix.blocked:
            avoided = last if rng.random() < 0.7 else rng.choice(agent_ids)
            who = rng.choice(("customer", "agent"))
            history.append(
                RoutingBlock(customer_id=customer_id, agent_id=avoided, requested_by=who)
            )
            floor.blocked.add((customer_id, avoided))
    session.flush()
    session.add_all(history)
    return floor


def calls(mix: Mix, customer_ids: list[int], rng: random.Random) -> list[SimCall]:
    """The arrivals: Poisson at the rate that gives *occupancy*, queues by their share."""
    per_call = mix.handle_seconds + mix.wrapup_seconds + 8.0
    rate = mix.agents * mix.occupancy / per_call
    weights = [q.share for q in mix.queues]
    at = 0.0
    made = []
    for index in range(mix.calls):
        at += rng.expovariate(rate)
        queue = rng.choices(mix.queues, weights)[0].name
        customer = None if rng.random() < mix.anonymous else rng.choice(customer_ids)
        presses = rng.random() < mix.callback_share
        made.append(
            SimCall(
                index=index,
                at=at,
                queue=queue,
                customer_id=customer,
                handle_seconds=rng.lognormvariate(0, 0.6) * mix.handle_seconds * 0.84,
                patience_seconds=rng.expovariate(1 / mix.patience_seconds),
                callback_after=rng.uniform(10, 90) if presses else None,
                callback_answers=tuple(
                    rng.random() < mix.callback_answer for _ in range(mix.callback_attempts)
                ),
            )
        )
    return made
