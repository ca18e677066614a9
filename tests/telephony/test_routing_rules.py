"""Routing promises one by one: one line across queues weighted by priority, queue membership,
negative affinity, skill then anyone, and callbacks (place in line, retries, modes, in flight)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select

from store import clock
from store.callbacks import recent_callbacks
from store.db import Database
from store.models import Agent, AgentState, Queue, QueueEntry, RouteDecision
from telephony import callback_policy, line_plan, relationships, router
from tests.telephony.test_router import T0, add_agent, add_customer, agent_state, db, set_state

__all__ = ["db"]  # the fixture


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@contextmanager
def time_is(seconds: float) -> Iterator[None]:
    with clock.use(lambda: at(seconds)):
        yield


def add_queue(db: Database, name: str, **settings: object) -> None:
    with db.session() as session:
        session.add(Queue(name=name, **settings))


def serve(db: Database, agent_id: int, *queues: str) -> None:
    with db.session() as session:
        session.get(Agent, agent_id).queues = list(queues)


def test_an_agent_in_two_queues_gets_the_longest_waiting_caller_across_them(db: Database) -> None:
    add_queue(db, "support")
    add_queue(db, "billing")
    ann = add_agent(db, "ann", [], AgentState.ON_CALL)
    serve(db, ann, "support", "billing")
    support = router.enqueue(db, "s", "support", now=at(10))
    billing = router.enqueue(db, "b", "billing", now=at(5))
    set_state(db, ann, AgentState.AVAILABLE)
    assert router.offer_next(db, support, now=at(20)) is None
    assert router.offer_next(db, billing, now=at(20)).agent.agent_id == ann


def test_priority_counts_as_time_in_line_and_never_starves_a_queue(db: Database) -> None:
    add_queue(db, "support", priority=0)
    add_queue(db, "vip", priority=1)
    ann = add_agent(db, "ann", [], AgentState.ON_CALL)
    old = router.enqueue(db, "old", "support", now=at(0))
    vip_soon = router.enqueue(db, "vip1", "vip", now=at(line_plan.PRIORITY_SECONDS - 5))
    vip_late = router.enqueue(db, "vip2", "vip", now=at(line_plan.PRIORITY_SECONDS + 5))
    set_state(db, ann, AgentState.AVAILABLE)
    offers = router.offers_now(db, "w", now=at(100))
    assert [o.call_id for o in offers] == ["vip1"]  # 25 s younger, one priority point (30 s)
    assert [router.position(db, e) for e in (old, vip_late)] == [1, 2]  # 35 s younger: after
    assert router.position(db, vip_soon) == 0


def test_an_agent_who_does_not_serve_the_queue_is_never_offered(db: Database) -> None:
    ann = add_agent(db, "ann", [], AgentState.AVAILABLE)
    serve(db, ann, "billing")
    entry = router.enqueue(db, "s", "support", now=T0)
    assert router.offer_next(db, entry, now=at(600)) is None
    serve(db, ann)  # no queues listed: every queue
    assert router.offer_next(db, entry, now=at(601)).agent.agent_id == ann


def test_negative_affinity_holds_even_for_the_last_agent_and_the_only_free_one(
    db: Database,
) -> None:
    ann = add_agent(db, "ann", [], AgentState.AVAILABLE, idle_minutes=5)
    bob = add_agent(db, "bob", [], AgentState.ON_CALL)
    customer = add_customer(db, served_by=ann, preferred=ann)
    with db.session() as session:
        relationships.block(session, customer, ann, "customer", "asked for someone else")
        relationships.block(session, customer, ann, "customer")  # idempotent
    entry = router.enqueue(db, "c", customer_id=customer, now=T0)
    assert router.offer_next(db, entry, now=at(600)) is None
    assert router.claim_agent(db, "shortcut", customer_id=customer) is None
    set_state(db, bob, AgentState.AVAILABLE)
    offer = router.offer_next(db, entry, now=at(601))
    assert offer.agent.agent_id == bob
    assert agent_state(db, ann) == AgentState.AVAILABLE


def test_skill_first_then_anyone_serving_the_queue_after_the_skill_wait(db: Database) -> None:
    add_queue(db, "billing", skill="billing", skill_wait_seconds=45)
    ann = add_agent(db, "ann", ["support"], AgentState.AVAILABLE)
    entry = router.enqueue(db, "c", "billing", now=T0)
    assert router.offer_next(db, entry, now=at(44)) is None
    offer = router.offer_next(db, entry, now=at(45))
    assert offer.agent.agent_id == ann
    assert offer.agent.reason == (
        "anyone serving billing (no agent with skill billing free within the wait)"
    )
    with db.session() as session:
        reasons = session.scalars(select(RouteDecision.reason)).all()
    assert reasons == [offer.agent.reason]


def test_a_free_agent_someone_holds_out_for_is_spared_when_another_will_do(db: Database) -> None:
    ann = add_agent(db, "ann", [], AgentState.ON_CALL)
    bob = add_agent(db, "bob", [], AgentState.ON_CALL)
    customer = add_customer(db, served_by=ann)
    stranger = router.enqueue(db, "first", now=T0)
    returning = router.enqueue(db, "returning", customer_id=customer, now=at(1))
    set_state(db, ann, AgentState.AVAILABLE)  # ann idles longer than bob
    set_state(db, bob, AgentState.AVAILABLE)
    offers = {o.call_id: o.agent.agent_id for o in router.offers_now(db, "w", now=at(2))}
    assert offers == {"first": bob, "returning": ann}
    assert router.position(db, stranger) == router.position(db, returning) == 0


def test_a_callback_keeps_its_place_against_later_arrivals_on_every_try(db: Database) -> None:
    add_queue(db, "support", callback_attempts=3, callback_retry_seconds=60)
    ann = add_agent(db, "ann", [], AgentState.ON_CALL)
    entry = router.enqueue(db, "cb", now=T0)
    router.request_callback(db, entry, "+390212345678")
    later = [router.enqueue(db, f"later{n}", now=at(1 + n)) for n in range(3)]
    set_state(db, ann, AgentState.AVAILABLE)
    offers = router.offers_now(db, "w", now=at(5))
    assert [(o.call_id, o.kind, o.attempt) for o in offers] == [("cb", "callback", 1)]
    router.answered(db, entry)
    with time_is(30):
        assert callback_policy.not_reached(db, entry, "408 Request Timeout") == router.WAITING
    set_state(db, ann, AgentState.AVAILABLE)
    # within the spacing the next caller is served; the callback still keeps its place
    assert router.position(db, entry) == 1
    first = router.offers_now(db, "w", now=at(40))
    assert [o.call_id for o in first] == ["later0"]
    router.abandon(db, later[0])
    assert [o.call_id for o in router.offers_now(db, "w", now=at(91))] == ["cb"]


def test_a_callback_not_reached_is_retried_then_closed_with_its_outcome(db: Database) -> None:
    add_queue(db, "support", callback_attempts=2, callback_retry_seconds=60)
    ann = add_agent(db, "ann", [], AgentState.AVAILABLE)
    entry = router.enqueue(db, "cb", now=T0)
    router.request_callback(db, entry, "+3902")
    for attempt, seconds in ((1, 1), (2, 70)):
        (offer,) = router.claim_callbacks(db, "w", now=at(seconds))
        assert offer.attempt == attempt
        router.answered(db, entry)
        with time_is(seconds + 5):
            state = callback_policy.not_reached(db, entry, "480 Temporarily Unavailable")
        set_state(db, ann, AgentState.AVAILABLE)
    assert state == router.CLOSED
    assert router.claim_callbacks(db, "w", now=at(1000)) == []
    with db.session() as session:
        (row,) = recent_callbacks(session)
    assert (row.state, row.attempts, row.number) == ("closed", 2, "+3902")
    assert row.outcome == "gave up after 2 attempts (480 Temporarily Unavailable)"


def test_a_callback_reached_says_on_which_attempt(db: Database) -> None:
    add_agent(db, "ann", [], AgentState.AVAILABLE)
    entry = router.enqueue(db, "cb", now=T0)
    router.request_callback(db, entry, "+3902")
    router.claim_callbacks(db, "w", now=at(1))
    router.answered(db, entry)
    callback_policy.reached(db, entry)
    with db.session() as session:
        stored = session.get(QueueEntry, entry)
        assert (stored.state, stored.outcome) == ("connected", "reached on attempt 1")


def test_customer_first_holds_the_agent_and_gives_them_back_when_not_reached(
    db: Database,
) -> None:
    add_queue(db, "billing", callback_mode=line_plan.CUSTOMER_FIRST)
    ann = add_agent(db, "ann", [], AgentState.AVAILABLE)
    entry = router.enqueue(db, "cb", "billing", now=T0)
    router.request_callback(db, entry, "+3902")
    (offer,) = router.claim_callbacks(db, "w", now=at(1))
    assert offer.callback_mode == line_plan.CUSTOMER_FIRST
    assert agent_state(db, ann) == AgentState.RINGING  # held while the customer is called
    callback_policy.not_reached(db, entry, "408")
    assert agent_state(db, ann) == AgentState.AVAILABLE


def test_never_more_callbacks_in_flight_than_free_agents(db: Database) -> None:
    add_agent(db, "ann", [], AgentState.AVAILABLE)
    add_agent(db, "bob", [], AgentState.PAUSED)
    entries = [router.enqueue(db, f"cb{n}", now=at(n)) for n in range(4)]
    for entry in entries:
        router.request_callback(db, entry, f"+39{entry}")
    assert [o.call_id for o in router.claim_callbacks(db, "w", now=at(10))] == ["cb0"]
    assert router.claim_callbacks(db, "w2", now=at(11)) == []
