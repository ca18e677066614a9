"""The promises, checked on every planning round from the simulation's own knowledge of the
floor (never from the router's reasoning): line order across queues, negative affinity, and
callbacks in flight never above the agents free for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.routing_sim.mix import Floor, Mix
from store.agents import SOON_FREE
from store.models import AgentState
from telephony.line_plan import PRIORITY_SECONDS


@dataclass
class Caller:
    """One simulated caller (or their callback request) as the simulation sees it."""

    index: int
    call_id: str
    entry_id: int
    queue: str
    skill: str | None
    customer_id: int | None
    arrived: float
    priority: int
    related: tuple[int, ...]  # preferred agent, then who last served them (not blocked)
    state: str = "waiting"  # waiting | ringing | talking | done | abandoned | closed
    kind: str = "call"
    skipped: set[int] = field(default_factory=set)
    next_try: float = 0.0
    attempts: int = 0
    offered_to: int | None = None
    first_offer: tuple[float, int] | None = None  # (seconds, agent)
    answered_at: float | None = None
    left_at: float | None = None
    freed_within_wait: bool = False  # a related agent was free while they held out
    other_free_at: float | None = None  # first moment another suitable agent was free
    customer_up: bool = False  # a customer-first callback's customer answered

    @property
    def key(self) -> float:
        return self.arrived - PRIORITY_SECONDS * self.priority


@dataclass
class Findings:
    inversions: list[str] = field(default_factory=list)
    affinity_violations: list[str] = field(default_factory=list)
    callback_overflows: list[str] = field(default_factory=list)
    max_callbacks_in_flight: int = 0
    free_for_callbacks_then: int = 0


class Oracle:
    def __init__(self, mix: Mix, floor: Floor) -> None:
        self.mix = mix
        self.floor = floor
        self.found = Findings()

    def holds_out(self, caller: Caller, now: float, states: dict[int, AgentState]) -> bool:
        """Whether the caller may still wait for one of their agents (the relationship wait,
        counted from their arrival, also for a callback)."""
        if now >= caller.arrived + self.mix.relationship_wait_seconds:
            return False
        return any(
            a not in caller.skipped and states.get(a) in SOON_FREE for a in caller.related
        )

    def may_take(
        self, caller: Caller, agent_id: int, now: float, states: dict[int, AgentState]
    ) -> bool:
        """Whether *agent_id* was a proper offer for *caller* at *now*."""
        agent = self.floor.agents[agent_id]
        if agent.queues and caller.queue not in agent.queues:
            return False
        if (caller.customer_id, agent_id) in self.floor.blocked:
            return False  # an agent who let this caller ring out may be tried again, last
        if caller.next_try > now:
            return False
        if agent_id in caller.related:
            return True
        if self.holds_out(caller, now, states):
            return False
        if caller.skill is None or caller.skill in agent.skills:
            return True
        return now >= caller.arrived + self.mix.skill_wait_seconds

    def check_round(
        self,
        now: float,
        offered: list[tuple[Caller, int]],
        waiting: list[Caller],
        states: dict[int, AgentState],
    ) -> None:
        """*offered*: this round's offers; *waiting*: who is still waiting after them."""
        for caller, agent_id in offered:
            if (caller.customer_id, agent_id) in self.floor.blocked:
                self.found.affinity_violations.append(
                    f"t={now:.0f}s customer {caller.customer_id} offered to blocked agent "
                    f"{agent_id}"
                )
            if not self.may_take(caller, agent_id, now, states):
                self.found.inversions.append(
                    f"t={now:.0f}s entry {caller.entry_id} offered to agent {agent_id}, "
                    "who was not a proper choice for it"
                )
            for older in waiting:
                if older.key < caller.key and self.may_take(older, agent_id, now, states):
                    self.found.inversions.append(
                        f"t={now:.0f}s agent {agent_id} offered entry {caller.entry_id} "
                        f"(in line {caller.key:.0f}) before entry {older.entry_id} "
                        f"(in line {older.key:.0f})"
                    )

    def check_callbacks(self, now: float, in_flight: int, free_for_them: int) -> None:
        if in_flight > self.found.max_callbacks_in_flight:
            self.found.max_callbacks_in_flight = in_flight
            self.found.free_for_callbacks_then = free_for_them
        if in_flight > free_for_them:
            self.found.callback_overflows.append(
                f"t={now:.0f}s {in_flight} callbacks in flight, {free_for_them} agents for them"
            )

