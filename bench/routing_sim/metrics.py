"""The figures of one run: order, relationships, waits, service level, occupancy balance and
callbacks, from what the simulated callers and agents lived through."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from bench.routing_sim.mix import Mix
from bench.routing_sim.oracle import Caller, Findings
from store.db import Database
from store.models import Agent, AgentState
from telephony import router

SERVICE_LEVEL_SECONDS = 20.0
WORKING = frozenset({AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})
AWAY = frozenset({AgentState.PAUSED, AgentState.NOT_READY, AgentState.LOGGED_OUT})


@dataclass
class Ledger:
    agents: list[int]
    callers: list[Caller] = field(default_factory=list)
    busy: dict[int, float] = field(default_factory=dict)
    away: dict[int, float] = field(default_factory=dict)
    since: dict[int, float] = field(default_factory=dict)
    callbacks_requested: int = 0
    callbacks_reached: int = 0
    callbacks_given_up: int = 0
    store_disagrees: list[str] = field(default_factory=list)

    def agent_state(self, agent: int, was: AgentState, now_is: AgentState, at: float) -> None:
        spent = at - self.since.get(agent, 0.0)
        if was in WORKING:
            self.busy[agent] = self.busy.get(agent, 0.0) + spent
        elif was in AWAY:
            self.away[agent] = self.away.get(agent, 0.0) + spent
        self.since[agent] = at

    def arrived(self, caller: Caller) -> None:
        pass

    def finished(self, caller: Caller) -> None:
        self.callers.append(caller)

    def check_store(self, db: Database, states: dict[int, AgentState]) -> None:
        """The store's agent states must be the ones the simulation believes."""
        with db.session() as session:
            stored = dict(session.execute(select(Agent.id, Agent.state)).tuples().all())
        self.store_disagrees = [
            f"agent {a}: store {stored.get(a)}, simulation {s}"
            for a, s in states.items()
            if stored.get(a) != s
        ]


@dataclass(frozen=True)
class Report:
    calls: int
    virtual_hours: float
    order_inversions: int
    inversion_examples: list[str]
    affinity_violations: int
    callbacks_in_flight_above_free: int
    max_callbacks_in_flight: int
    free_for_callbacks_then: int
    relationship: dict[str, Any]
    waits: dict[str, Any]
    service_level: dict[str, Any]
    occupancy: dict[str, Any]
    callbacks: dict[str, Any]
    store_disagreements: list[str]
    #: SQL statements run during the simulation (set by the simulator; the router's and
    #: agent moves' round trips, plus the customer history a desk writes after each call).
    statements: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def report(mix: Mix, ledger: Ledger, found: Findings, seconds: float) -> Report:
    callers = sorted(ledger.callers, key=lambda c: c.index)
    calls = [c for c in callers if c.kind == "call"]
    answered = [c for c in calls if c.answered_at is not None]
    abandoned = [c for c in calls if c.state == "abandoned"]
    waits = [c.answered_at - c.arrived for c in answered if c.answered_at is not None]
    waits += [c.left_at - c.arrived for c in abandoned if c.left_at is not None]
    in_time = sum(1 for c in answered if (c.answered_at or 0) - c.arrived <= SERVICE_LEVEL_SECONDS)
    returning = [c for c in callers if c.related]
    chances = [c for c in returning if c.freed_within_wait]
    hits = [c for c in chances if c.first_offer and c.first_offer[1] in c.related]
    added = [
        max(0.0, c.first_offer[0] - c.other_free_at)
        if c.other_free_at is not None and c.first_offer
        else 0.0
        for c in hits
    ]
    all_hits = [c for c in returning if c.first_offer and c.first_offer[1] in c.related]
    total = max(seconds, 1.0)
    occupancy = {
        a: ledger.busy.get(a, 0.0) / max(total - ledger.away.get(a, 0.0), 1.0)
        for a in ledger.agents
    }
    values = sorted(occupancy.values())
    callbacks = [c for c in callers if c.kind == "callback"]
    return Report(
        calls=len(callers),
        virtual_hours=round(seconds / 3600, 2),
        order_inversions=len(found.inversions),
        inversion_examples=found.inversions[:5],
        affinity_violations=len(found.affinity_violations),
        callbacks_in_flight_above_free=len(found.callback_overflows),
        max_callbacks_in_flight=found.max_callbacks_in_flight,
        free_for_callbacks_then=found.free_for_callbacks_then,
        relationship={
            "returning_callers": len(returning),
            "agent_freed_within_wait": len(chances),
            "hits_when_freed": len(hits),
            "hit_rate_when_freed": round(len(hits) / len(chances), 4) if chances else None,
            "hit_rate_all_returning": round(len(all_hits) / len(returning), 4)
            if returning
            else None,
            "median_added_wait_s": _median(added),
            "p95_added_wait_s": round(sorted(added)[int(0.95 * (len(added) - 1))], 1)
            if added
            else None,
        },
        waits={
            "answered": len(answered),
            "abandoned": len(abandoned),
            "median_s": _median(waits),
            "longest_s": round(max(waits), 1) if waits else None,
        },
        service_level={
            "threshold_s": SERVICE_LEVEL_SECONDS,
            "answered_within": in_time,
            "fraction": round(in_time / max(len(answered) + len(abandoned), 1), 4),
        },
        occupancy={
            "min": round(values[0], 3) if values else None,
            "median": round(statistics.median(values), 3) if values else None,
            "max": round(values[-1], 3) if values else None,
            "stdev": round(statistics.pstdev(values), 3) if values else None,
        },
        callbacks={
            "requested": ledger.callbacks_requested,
            "reached": ledger.callbacks_reached,
            "given_up": ledger.callbacks_given_up,
            "open_at_end": sum(1 for c in callbacks if c.state in ("waiting", "ringing")),
            "policy": {
                "attempts": mix.callback_attempts,
                "retry_seconds": mix.callback_retry_seconds,
            },
            "modes": {q.name: q.callback_mode for q in mix.queues},
            "kind": router.CALLBACK,
        },
        store_disagreements=ledger.store_disagrees[:5],
    )
