"""Router: relationship first, fallback after the wait, skills, longest idle, claims, callbacks."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from store import agents
from store.db import Database
from store.migrate import upgrade
from store.models import (
    Agent,
    AgentState,
    Credit,
    Customer,
    Device,
    DeviceKind,
    Interaction,
    Queue,
    QueueEntry,
    RouteDecision,
)
from telephony import router
from tests.harness.parts import require

T0 = datetime(2026, 1, 5, 9, 0, 0)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'router.sqlite'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def add_agent(
    db: Database, name: str, skills: list[str], state: AgentState, idle_minutes: int = 0
) -> int:
    with db.session() as session:
        device = Device(
            kind=DeviceKind.HEADSET, extension=f"1{len(name)}{name}", sip_username=name, ha1="x"
        )
        agent = Agent(
            name=name,
            username=name,
            password_hash="-",
            skills=skills,
            state=state,
            state_since=T0 - timedelta(minutes=idle_minutes),
            device=device,
        )
        session.add(agent)
        session.flush()
        return agent.id


def add_customer(db: Database, served_by: int | None = None, preferred: int | None = None) -> int:
    with db.session() as session:
        customer = Customer(name="Giulia", preferred_agent_id=preferred)
        session.add(customer)
        session.flush()
        if served_by is not None:
            session.add(
                Interaction(customer_id=customer.id, agent_id=served_by, at=T0 - timedelta(days=3))
            )
        return customer.id


def agent_state(db: Database, agent_id: int) -> AgentState:
    with db.session() as session:
        return session.get(Agent, agent_id).state


def set_state(db: Database, agent_id: int, state: AgentState) -> None:
    with db.session() as session:
        session.get(Agent, agent_id).state = state


def test_relationship_routes_to_last_agent_even_when_others_idle_longer(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.AVAILABLE, idle_minutes=1)
    add_agent(db, "bruno", ["support"], AgentState.AVAILABLE, idle_minutes=30)
    customer = add_customer(db, served_by=alice)
    entry = router.enqueue(db, "call-1", customer_id=customer, now=T0)
    offer = router.offer_next(db, entry, now=T0)
    assert offer is not None
    assert offer.agent.agent_id == alice
    assert offer.agent.reason.startswith("last served this customer on 2026-01-02")
    with db.session() as session:
        decision = session.scalar(select(RouteDecision).where(RouteDecision.call_id == "call-1"))
        assert (decision.agent_id, decision.reason) == (alice, offer.agent.reason)
    assert agent_state(db, alice) is AgentState.RINGING


def test_profile_preferred_agent_comes_first(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.AVAILABLE)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE)
    customer = add_customer(db, served_by=alice, preferred=bruno)
    offer = router.offer_next(db, router.enqueue(db, "c", customer_id=customer, now=T0), now=T0)
    assert offer.agent.agent_id == bruno
    assert offer.agent.reason == "preferred agent on the customer's profile"


def test_caller_waits_for_busy_agent_then_falls_back_after_the_wait(db: Database) -> None:
    with db.session() as session:
        session.add(Queue(name="support", relationship_wait_seconds=30, ring_timeout_seconds=15))
    alice = add_agent(db, "alice", ["support"], AgentState.ON_CALL)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE, idle_minutes=5)
    customer = add_customer(db, served_by=alice)
    entry = router.enqueue(db, "c", "support", customer_id=customer, now=T0)
    assert router.offer_next(db, entry, now=T0 + timedelta(seconds=10)) is None
    assert agent_state(db, bruno) is AgentState.AVAILABLE
    offer = router.offer_next(db, entry, now=T0 + timedelta(seconds=31))
    assert offer.agent.agent_id == bruno
    assert "not free within the wait" in offer.agent.reason
    assert offer.ring_timeout_seconds == 15


def test_known_agent_freed_within_the_wait_gets_the_caller(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.WRAP_UP)
    add_agent(db, "bruno", ["support"], AgentState.AVAILABLE, idle_minutes=5)
    customer = add_customer(db, served_by=alice)
    entry = router.enqueue(db, "c", customer_id=customer, now=T0)
    assert router.offer_next(db, entry, now=T0 + timedelta(seconds=5)) is None
    set_state(db, alice, AgentState.AVAILABLE)
    assert router.offer_next(db, entry, now=T0 + timedelta(seconds=8)).agent.agent_id == alice


def test_no_wait_for_a_logged_out_agent(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.LOGGED_OUT)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE)
    customer = add_customer(db, served_by=alice)
    entry = router.enqueue(db, "c", customer_id=customer, now=T0)
    assert router.offer_next(db, entry, now=T0).agent.agent_id == bruno


def test_skills_and_longest_idle(db: Database) -> None:
    add_agent(db, "sam", ["support"], AgentState.AVAILABLE, idle_minutes=60)
    billing_recent = add_agent(db, "bea", ["billing"], AgentState.AVAILABLE, idle_minutes=2)
    billing_idle = add_agent(db, "bob", ["billing", "support"], AgentState.AVAILABLE, 20)
    entry = router.enqueue(db, "c", "billing", skill="billing", now=T0)
    offer = router.offer_next(db, entry, now=T0)
    assert offer.agent.agent_id == billing_idle
    assert offer.agent.reason == "longest idle with skill billing"
    second = router.offer_next(db, router.enqueue(db, "d", skill="billing", now=T0), now=T0)
    assert second.agent.agent_id == billing_recent
    assert router.offer_next(db, router.enqueue(db, "e", skill="billing", now=T0), now=T0) is None


def test_queue_order_priority_then_time_in_line(db: Database) -> None:
    only = add_agent(db, "alice", ["support"], AgentState.AVAILABLE)
    first = router.enqueue(db, "first", now=T0)
    vip = router.enqueue(db, "vip", priority=5, now=T0 + timedelta(seconds=5))
    assert router.position(db, vip) == 1 and router.position(db, first) == 2
    assert router.offer_next(db, first, now=T0 + timedelta(seconds=6)) is None
    assert router.offer_next(db, vip, now=T0 + timedelta(seconds=6)).agent.agent_id == only


def test_no_answer_sets_not_ready_and_caller_keeps_place(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.AVAILABLE, idle_minutes=10)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE, idle_minutes=1)
    early = router.enqueue(db, "early", now=T0)
    offer = router.offer_next(db, early, now=T0)
    assert offer.agent.agent_id == alice
    late = router.enqueue(db, "late", now=T0 + timedelta(seconds=3))
    router.no_answer(db, early)
    with db.session() as session:
        assert session.get(Agent, alice).state is AgentState.NOT_READY
        assert session.get(Agent, alice).state_reason == "no answer"
        decision = session.scalar(select(RouteDecision).where(RouteDecision.call_id == "early"))
        assert decision.outcome == "no_answer"
    assert router.position(db, early) == 1
    assert router.offer_next(db, late, now=T0 + timedelta(seconds=4)) is None
    assert router.offer_next(db, early, now=T0 + timedelta(seconds=4)).agent.agent_id == bruno
    router.answered(db, early)
    assert agent_state(db, bruno) is AgentState.ON_CALL


def test_callback_keeps_place_and_is_claimed_when_an_agent_frees(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.ON_CALL)
    customer = add_customer(db)
    entry = router.enqueue(db, "cb", customer_id=customer, caller="+39021", now=T0)
    later = router.enqueue(db, "later", now=T0 + timedelta(seconds=1))
    router.request_callback(db, entry, "+390212345678")
    assert router.position(db, entry) == 1
    assert router.claim_callbacks(db, "w1", now=T0 + timedelta(seconds=2)) == []
    set_state(db, alice, AgentState.AVAILABLE)
    assert router.offer_next(db, later, now=T0 + timedelta(seconds=3)) is None
    offers = router.claim_callbacks(db, "w1", now=T0 + timedelta(seconds=3))
    assert [(o.kind, o.callback_number, o.customer_id, o.agent.agent_id) for o in offers] == [
        ("callback", "+390212345678", customer, alice)
    ]
    with db.session() as session:
        assert session.get(QueueEntry, entry).worker == "w1"
    with pytest.raises(ValueError, match="a callback needs a number"):
        router.request_callback(db, later, " ")


def test_abandon_while_ringing_gives_the_agent_back(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.AVAILABLE)
    entry = router.enqueue(db, "gone", now=T0)
    router.offer_next(db, entry, now=T0)
    router.abandon(db, entry)
    assert agent_state(db, alice) is AgentState.AVAILABLE
    assert router.position(db, entry) == 0


def test_claim_agent_shortcut_and_release(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.AVAILABLE, idle_minutes=1)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE, idle_minutes=9)
    claimed = router.claim_agent(db, "x", skill="support", preferred=[alice])
    assert (claimed.agent_id, claimed.reason) == (alice, "preferred agent")
    assert router.claim_agent(db, "y", skill="support").agent_id == bruno
    assert router.claim_agent(db, "z") is None
    agents.wrap_up(db, alice)
    assert agent_state(db, alice) is AgentState.WRAP_UP


def test_claim_agent_waits_for_a_busy_related_agent_until_told(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.ON_CALL)
    bruno = add_agent(db, "bruno", ["support"], AgentState.AVAILABLE)
    customer = add_customer(db, served_by=alice)
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=30)
    assert router.claim_agent(db, "c", customer_id=customer, related_wait_until=later) is None
    past = later - timedelta(minutes=5)
    claimed = router.claim_agent(db, "c", customer_id=customer, related_wait_until=past)
    assert claimed.agent_id == bruno
    set_state(db, alice, AgentState.AVAILABLE)
    assert router.claim_agent(db, "d", customer_id=customer).agent_id == alice


def test_wrap_up_ends_after_the_agents_wrap_up_time(db: Database) -> None:
    alice = add_agent(db, "alice", ["support"], AgentState.WRAP_UP)  # 10 s wrap-up, since T0
    assert agents.end_due_wrap_ups(db, now=T0 + timedelta(seconds=5)) == []
    assert agents.end_due_wrap_ups(db, now=T0 + timedelta(seconds=10)) == [alice]
    assert agent_state(db, alice) is AgentState.AVAILABLE


def test_credit_ledger_rejects_updates(db: Database) -> None:
    from store.models import Account

    customer = add_customer(db)
    agent = add_agent(db, "alice", [], AgentState.AVAILABLE)
    with db.session() as session:
        account = Account(number="1", customer_id=customer)
        session.add(account)
        session.flush()
        session.add(
            Credit(
                account_id=account.id, agent_id=agent, amount_cents=5, currency="EUR", reason="r"
            )
        )
    with pytest.raises(PermissionError), db.session() as session:
        session.scalar(select(Credit)).amount_cents = 1
    import sqlalchemy

    with pytest.raises(sqlalchemy.exc.IntegrityError), db.session() as session:
        session.execute(sqlalchemy.text("DELETE FROM credits"))


def _claim_many(url: str, worker: int, calls: int, start: multiprocessing.Event) -> list[int]:
    database = Database(url)
    start.wait()
    claimed = []
    for n in range(calls):
        offer = router.offer_next(database, router.enqueue(database, f"w{worker}-{n}"))
        if offer is not None:
            claimed.append(offer.agent.agent_id)
        agent = router.claim_agent(database, f"direct-w{worker}-{n}")
        if agent is not None:
            claimed.append(agent.agent_id)
    database.dispose()
    return claimed


def test_no_double_claim_across_processes(db: Database) -> None:
    agents = [add_agent(db, f"a{n}", ["support"], AgentState.AVAILABLE, n) for n in range(12)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(4) as pool:
            results = [
                pool.apply_async(_claim_many, (db.url, worker, 6, start)) for worker in range(4)
            ]
            start.set()
            claimed = [agent for result in results for agent in result.get(timeout=120)]
    assert sorted(claimed) == sorted(agents)
    with db.session() as session:
        rows = session.execute(select(Agent.state, Agent.claimed_by_call)).all()
    assert all(state is AgentState.RINGING for state, _ in rows)
    assert len({call for _, call in rows}) == len(agents)


def test_routing_and_ledger_guard_on_postgresql() -> None:
    from tests.harness.postgres import running_postgres

    require("postgresql")
    import sqlalchemy

    from store.models import Account

    with running_postgres() as url:
        upgrade(url)
        database = Database(url)
        try:
            alice = add_agent(database, "alice", ["support"], AgentState.AVAILABLE, 1)
            add_agent(database, "bruno", ["support"], AgentState.AVAILABLE, 30)
            customer = add_customer(database, served_by=alice)
            entry = router.enqueue(database, "pg-1", customer_id=customer, now=T0)
            offer = router.offer_next(database, entry, now=T0)
            assert offer.agent.agent_id == alice
            router.no_answer(database, entry)
            assert agent_state(database, alice) is AgentState.NOT_READY
            with database.session() as session:
                account = Account(number="9", customer_id=customer)
                session.add(account)
                session.flush()
                session.add(
                    Credit(
                        account_id=account.id,
                        agent_id=alice,
                        amount_cents=1,
                        currency="EUR",
                        reason="r",
                    )
                )
            refused = pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only")
            with refused, database.session() as session:
                session.execute(sqlalchemy.text("UPDATE credits SET amount_cents = 2"))
        finally:
            database.dispose()
