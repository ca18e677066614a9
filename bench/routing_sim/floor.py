"""The simulated floor: callers and agents making the same moves a worker and a desk make,
through the product's functions, in virtual time. `simulate(mix)` runs one mix and returns
its `metrics.Report`."""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from bench.routing_sim import mix as mixes
from bench.routing_sim.clock import VirtualClock
from bench.routing_sim.metrics import Ledger, Report, report
from bench.routing_sim.mix import Floor, Mix, SimCall
from bench.routing_sim.oracle import Caller, Oracle
from store import agents, clock
from store.db import Database
from store.migrate import upgrade
from store.models import AgentState, Customer, Interaction
from telephony import callback_policy, line_plan, router

AGENT_BACK_SECONDS = 30.0  # an agent who missed a ring is ready again after this
CUSTOMER_RING_SECONDS = 20.0  # a callback's customer phone rings this long
S = AgentState


def _fast_sqlite(db: Database) -> None:
    @event.listens_for(db.engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


class Statements:
    """SQL statements the store ran during the run, by verb (the round trips per call)."""

    def __init__(self) -> None:
        self.by_verb: dict[str, int] = {}

    def count(self, *args: Any) -> None:
        verb = str(args[2]).lstrip().split(None, 1)[0].upper()
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

    def figures(self, calls: int) -> dict[str, Any]:
        total = sum(self.by_verb.values())
        return {
            "total": total,
            "per_call": round(total / max(calls, 1), 2),
            "by_verb": dict(sorted(self.by_verb.items())),
        }


class Simulation:
    def __init__(self, mix: Mix, db: Database) -> None:
        self.mix, self.db = mix, db
        self.rng = random.Random(mix.seed)
        self.clock = VirtualClock(mixes.START)
        with db.session() as session:
            self.floor: Floor = mixes.build(session, mix, self.rng)
            customers = list(session.scalars(select(Customer.id).order_by(Customer.id)))
            history = session.execute(
                select(Interaction.customer_id, Interaction.agent_id).order_by(Interaction.at)
            ).tuples()
            self.last_agent = {c: a for c, a in history if a is not None}
        self.calls = mixes.calls(mix, customers, self.rng)
        self.last_arrival = self.calls[-1].at if self.calls else 0.0
        self.oracle = Oracle(mix, self.floor)
        self.ledger = Ledger(agents=sorted(self.floor.agents))
        self.states: dict[int, AgentState] = dict.fromkeys(self.floor.agents, S.AVAILABLE)
        self.callers: dict[int, Caller] = {}  # by entry id
        self.dirty = True
        self.in_flight = 0  # callbacks dialling their customer

    # -- agents ---------------------------------------------------------------------------
    def agent_is(self, agent_id: int, state: AgentState) -> None:
        self.ledger.agent_state(agent_id, self.states[agent_id], state, self.clock.seconds)
        self.states[agent_id] = state
        if state == S.AVAILABLE:
            self.dirty = True

    def _pause_later(self, agent_id: int) -> None:
        if self.clock.seconds > self.last_arrival:
            return
        delay = self.rng.expovariate(1 / self.mix.pause_every_seconds)
        if self.clock.seconds + delay <= self.last_arrival:
            self.clock.after(delay, lambda: self._pause(agent_id))

    def _pause(self, agent_id: int) -> None:
        if self.clock.seconds > self.last_arrival:
            return
        if self.states[agent_id] != S.AVAILABLE:
            if self.clock.seconds <= self.last_arrival:
                self.clock.after(60.0, lambda: self._pause(agent_id))
            return
        if agents.set_own_state(self.db, agent_id, "paused", "break"):
            self.agent_is(agent_id, S.PAUSED)
            self.clock.after(self.mix.pause_seconds, lambda: self._ready(agent_id))
        self._pause_later(agent_id)

    def _ready(self, agent_id: int) -> None:
        if agents.set_own_state(self.db, agent_id, "available"):
            self.agent_is(agent_id, S.AVAILABLE)

    def _hang_up(self, caller: Caller, agent_id: int) -> None:
        caller.state = "done"
        if agents.wrap_up(self.db, agent_id, "call ended"):
            self.agent_is(agent_id, S.WRAP_UP)
        self.clock.after(self.mix.wrapup_seconds, self._end_wrap_ups)

    def _end_wrap_ups(self) -> None:
        for agent_id in agents.end_due_wrap_ups(self.db):
            self.agent_is(agent_id, S.AVAILABLE)

    # -- callers ----------------------------------------------------------------------------
    def arrive(self, call: SimCall) -> None:
        call_id = f"sim-{call.index}"
        spec = self.floor.queues[call.queue]
        entry_id = router.enqueue(
            self.db, call_id, call.queue, customer_id=call.customer_id, caller=f"sim{call.index}"
        )
        related = self._related(call.customer_id, call.queue)
        caller = Caller(
            call.index,
            call_id,
            entry_id,
            call.queue,
            spec.skill,
            call.customer_id,
            self.clock.seconds,
            spec.priority,
            related,
        )
        self.callers[entry_id] = caller
        self.ledger.arrived(caller)
        self.dirty = True
        now = self.clock.seconds
        self.clock.at(now + self.mix.relationship_wait_seconds, lambda: self._replan(caller))
        self.clock.at(now + self.mix.skill_wait_seconds, lambda: self._replan(caller))
        self.clock.after(call.patience_seconds, lambda: self._give_up(caller))
        if call.callback_after is not None:
            self.clock.after(call.callback_after, lambda: self._press_one(caller))

    def _related(self, customer_id: int | None, queue: str) -> tuple[int, ...]:
        if customer_id is None:
            return ()
        wanted = [self.floor.preferred.get(customer_id), self.last_agent.get(customer_id)]
        found: list[int] = []
        for agent_id in wanted:
            if agent_id is None or agent_id in found:
                continue
            if (customer_id, agent_id) in self.floor.blocked:
                continue
            serves = self.floor.agents[agent_id].queues
            if not serves or queue in serves:
                found.append(agent_id)
        return tuple(found)

    def _replan(self, caller: Caller) -> None:
        """A wait of *caller* is over: if they are still in line, plan again."""
        if caller.state == "waiting":
            self.dirty = True

    def _give_up(self, caller: Caller) -> None:
        if caller.kind != "call" or caller.state not in ("waiting", "ringing"):
            return
        agent_id = caller.offered_to if caller.state == "ringing" else None
        router.abandon(self.db, caller.entry_id)
        caller.state, caller.left_at = "abandoned", self.clock.seconds
        if agent_id is not None:
            self.agent_is(agent_id, S.AVAILABLE)

    def _press_one(self, caller: Caller) -> None:
        if caller.kind != "call" or caller.state != "waiting":
            return
        router.request_callback(self.db, caller.entry_id, f"+39{caller.index:08d}")
        caller.kind = "callback"
        self.ledger.callbacks_requested += 1

    # -- offers -----------------------------------------------------------------------------
    def settle(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        now = self.clock.seconds
        waiting = [c for c in self.callers.values() if c.state == "waiting"]
        if not waiting or S.AVAILABLE not in self.states.values():
            return  # a worker polls only for a caller in line; nobody free: nothing to offer
        self._note_free(waiting, now, before=True)
        offers = router.offers_now(self.db, "sim")
        offered = []
        for offer in offers:
            caller = self.callers[offer.entry_id]
            offered.append((caller, offer.agent.agent_id))
        still = [c for c in waiting if all(c is not o for o, _ in offered)]
        self.oracle.check_round(now, offered, still, self.states)
        for (caller, agent_id), offer in zip(offered, offers, strict=True):
            self._offered(caller, agent_id, offer)
        self._note_free(still, now, before=False)
        self._forget_finished()

    def _note_free(self, waiting: list[Caller], now: float, before: bool) -> None:
        """Relationship bookkeeping: was a related agent free while the caller held out
        (*before* the round), and was another agent free meanwhile (after it)?"""
        for caller in waiting:
            if not caller.related or caller.first_offer is not None:
                continue
            if now >= caller.arrived + self.mix.relationship_wait_seconds:
                continue
            if before:
                if any(self.states[a] == S.AVAILABLE for a in caller.related):
                    caller.freed_within_wait = True
            elif caller.other_free_at is None and any(
                self.states[a] == S.AVAILABLE and self.oracle.may_take(caller, a, now, {})
                for a in self.floor.agents
                if a not in caller.related
            ):
                caller.other_free_at = now

    def _forget_finished(self) -> None:
        if len(self.callers) > 400:
            for entry_id in [e for e, c in self.callers.items() if c.state not in _LIVE]:
                self.ledger.finished(self.callers.pop(entry_id))

    def _offered(self, caller: Caller, agent_id: int, offer: router.Offer) -> None:
        now = self.clock.seconds
        self.agent_is(agent_id, S.RINGING)
        caller.state, caller.offered_to = "ringing", agent_id
        if caller.first_offer is None:
            caller.first_offer = (now, agent_id)
        if offer.kind == router.CALLBACK and offer.callback_mode == line_plan.CUSTOMER_FIRST:
            self._dial_customer(caller, agent_id, lambda: self._ring_agent(caller, agent_id))
            return
        self._ring_agent(caller, agent_id)

    def _ring_agent(self, caller: Caller, agent_id: int) -> None:
        if self.rng.random() < self.mix.no_answer:
            self.clock.after(self.mix.ring_timeout_seconds, lambda: self._missed(caller, agent_id))
        else:
            delay = self.rng.uniform(1.0, 5.0)
            self.clock.after(delay, lambda: self._agent_answers(caller, agent_id))

    def _missed(self, caller: Caller, agent_id: int) -> None:
        if caller.state != "ringing" or caller.offered_to != agent_id:
            return
        router.no_answer(self.db, caller.entry_id)
        self.agent_is(agent_id, S.NOT_READY)
        caller.customer_up = False  # a waiting callback customer hangs up; the request waits
        caller.skipped.add(agent_id)
        caller.state, caller.offered_to = "waiting", None
        self.dirty = True
        self.clock.after(AGENT_BACK_SECONDS, lambda: self._ready(agent_id))

    def _agent_answers(self, caller: Caller, agent_id: int) -> None:
        if caller.state != "ringing" or caller.offered_to != agent_id:
            return
        router.answered(self.db, caller.entry_id)
        self.agent_is(agent_id, S.ON_CALL)
        if caller.kind == "callback":
            if caller.customer_up:  # customer first: they are on the line already
                self._reached(caller)
                self._talk(caller, agent_id)
                return
            self._dial_customer(caller, agent_id, lambda: self._talk(caller, agent_id))
            return
        self._talk(caller, agent_id)

    def _talk(self, caller: Caller, agent_id: int) -> None:
        now = self.clock.seconds
        caller.state, caller.answered_at = "talking", now
        if caller.customer_id is not None:
            self.last_agent[caller.customer_id] = agent_id
            with self.db.session() as session:
                session.add(Interaction(customer_id=caller.customer_id, agent_id=agent_id))
        handle = self.calls[caller.index].handle_seconds
        self.clock.after(handle, lambda: self._hang_up(caller, agent_id))

    def _dial_customer(self, caller: Caller, agent_id: int, then: Callable[[], None]) -> None:
        """A callback calls its customer while its agent is held for it."""
        self.in_flight += 1
        held = sum(1 for c in self.callers.values() if c.kind == "callback" and c.offered_to)
        free = sum(1 for s in self.states.values() if s == S.AVAILABLE)
        self.oracle.check_callbacks(self.clock.seconds, self.in_flight, held + free)
        answers = self.calls[caller.index].callback_answers
        if answers[min(caller.attempts, len(answers) - 1)]:
            delay = self.rng.uniform(3.0, 10.0)
            self.clock.after(delay, lambda: self._customer_answers(caller, agent_id, then))
        else:
            self.clock.after(CUSTOMER_RING_SECONDS, lambda: self._not_reached(caller, agent_id))

    def _customer_answers(self, caller: Caller, agent_id: int, then: Callable[[], None]) -> None:
        self.in_flight -= 1
        if caller.state != "ringing" or caller.offered_to != agent_id:
            return
        if self.states[agent_id] == S.RINGING:  # customer first: now ring the held agent
            caller.customer_up = True
        else:
            self._reached(caller)
        then()

    def _reached(self, caller: Caller) -> None:
        callback_policy.reached(self.db, caller.entry_id)
        caller.attempts += 1
        caller.customer_up = False
        self.ledger.callbacks_reached += 1

    def _not_reached(self, caller: Caller, agent_id: int) -> None:
        self.in_flight -= 1
        held = self.states[agent_id] == S.RINGING
        state = callback_policy.not_reached(self.db, caller.entry_id)
        caller.attempts += 1
        if held:
            self.agent_is(agent_id, S.AVAILABLE)  # withdrawn: the customer never answered
        elif agents.release(self.db, agent_id, "callback not reached"):
            self.agent_is(agent_id, S.AVAILABLE)
        caller.offered_to = None
        if state == router.CLOSED:
            caller.state = "closed"
            self.ledger.callbacks_given_up += 1
            return
        caller.state = "waiting"
        caller.next_try = self.clock.seconds + self.mix.callback_retry_seconds
        self.clock.at(caller.next_try, lambda: self._replan(caller))

    def _arrival(self, call: SimCall) -> Callable[[], None]:
        return lambda: self.arrive(call)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> Report:
        for agent_id in self.floor.agents:
            self._pause_later(agent_id)
        for call in self.calls:
            self.clock.at(call.at, self._arrival(call))
        counted = Statements()
        event.listen(self.db.engine, "before_cursor_execute", counted.count)
        try:
            with clock.use(self.clock.now):
                self.clock.run(self.settle)
        finally:
            event.remove(self.db.engine, "before_cursor_execute", counted.count)
        for caller in self.callers.values():
            self.ledger.finished(caller)
        self.ledger.check_store(self.db, self.states)
        result = report(self.mix, self.ledger, self.oracle.found, self.clock.seconds)
        return dataclasses.replace(result, statements=counted.figures(self.mix.calls))


_LIVE = frozenset({"waiting", "ringing", "talking"})


def simulate(
    mix: Mix, directory: Path | None = None, url: str | None = None, durable: bool = False
) -> Report:
    """Run *mix* on a fresh store: a SQLite file in *directory* (a temporary one by default),
    or the empty database at *url* (PostgreSQL). SQLite skips its fsyncs unless *durable*
    (the product's own settings: WAL, synchronous FULL)."""
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        url = url or f"sqlite:///{Path(scratch) / 'routing-sim.sqlite'}"
        upgrade(url)
        db = Database(url)
        if url.startswith("sqlite") and not durable:
            _fast_sqlite(db)
        try:
            return Simulation(mix, db).run()
        finally:
            db.dispose()
