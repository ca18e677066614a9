"""A dead worker's leftovers: waiting callers abandoned, callbacks back in line, agents freed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from store import agents
from store.db import Database
from store.migrate import upgrade
from store.models import Agent, AgentState, Call, Device, DeviceKind, QueueEntry, Worker, utcnow
from telephony import cdr, heartbeat, reaper, router


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'reaper.sqlite'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def add_agent(db: Database, name: str) -> int:
    with db.session() as session:
        device = Device(kind=DeviceKind.HEADSET, extension=f"9{name}", sip_username=name, ha1="x")
        agent = Agent(
            name=name,
            username=name,
            password_hash="-",
            state=AgentState.AVAILABLE,
            state_since=utcnow() - timedelta(minutes=5),
            device=device,
        )
        session.add(agent)
        session.flush()
        return agent.id


def go_stale(db: Database, worker_id: int) -> None:
    with db.session() as session:
        session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=60))
        )


def entry(db: Database, entry_id: int) -> QueueEntry:
    with db.session() as session:
        row = session.get(QueueEntry, entry_id)
        assert row is not None
        return row


def agent_state(db: Database, agent_id: int) -> AgentState:
    with db.session() as session:
        row = session.get(Agent, agent_id)
        assert row is not None
        return row.state


def test_a_dead_workers_waiting_caller_no_longer_takes_the_agent_of_a_live_caller(
    db: Database,
) -> None:
    dead = heartbeat.register_worker(db, "dead", "127.0.0.1", 1, 5081, "http://x", 3)
    heartbeat.register_worker(db, "live", "127.0.0.1", 2, 5082, "http://y", 3)
    cdr.open_call(db, "gone", "ghost", "800", dead)
    ghost = router.enqueue(db, "gone", worker="dead", now=utcnow() - timedelta(seconds=30))
    cdr.open_call(db, "here", "caller", "800", None)
    waiting = router.enqueue(db, "here", worker="live")
    agent = add_agent(db, "ann")
    assert router.offer_next(db, waiting) is None  # today the ghost is first in line

    go_stale(db, dead)
    assert reaper.reap_stale_workers(db, stale_after_seconds=5) == ["dead"]

    assert entry(db, ghost).state == router.ABANDONED
    assert router.position(db, waiting) == 1
    offer = router.offer_next(db, waiting)
    assert offer is not None and offer.agent.agent_id == agent


def test_a_dead_workers_ringing_offer_frees_the_agent_and_abandons_the_entry(db: Database) -> None:
    dead = heartbeat.register_worker(db, "dead", "127.0.0.1", 1, 5081, "http://x", 3)
    cdr.open_call(db, "gone", "ghost", "800", dead)
    ghost = router.enqueue(db, "gone", worker="dead")
    agent = add_agent(db, "ann")
    assert router.offer_next(db, ghost) is not None
    assert agent_state(db, agent) == AgentState.RINGING

    go_stale(db, dead)
    reaper.reap_stale_workers(db, stale_after_seconds=5)

    assert entry(db, ghost).state == router.ABANDONED
    assert agent_state(db, agent) == AgentState.AVAILABLE


@pytest.mark.parametrize("stage", ["ringing the agent", "agent answered, dialling the customer"])
def test_a_callback_being_placed_by_a_dead_worker_goes_back_in_line(
    db: Database, stage: str
) -> None:
    heartbeat.register_worker(db, "first", "127.0.0.1", 1, 5081, "http://x", 3)
    placer = heartbeat.register_worker(db, "placer", "127.0.0.1", 2, 5082, "http://y", 3)
    requested_at = utcnow() - timedelta(seconds=60)
    cdr.open_call(db, "asked", "2001", "800", None)
    request = router.enqueue(db, "asked", worker="first", now=requested_at)
    router.request_callback(db, request, "2001")
    cdr.close_call(db, "asked", "completed")
    agent = add_agent(db, "ann")
    (offer,) = router.claim_callbacks(db, "placer")
    cdr.open_call(db, "dialling", "placer", "2001", placer, "outbound")
    if stage != "ringing the agent":
        router.answered(db, offer.entry_id)
        assert agent_state(db, agent) == AgentState.ON_CALL

    go_stale(db, placer)
    assert reaper.reap_stale_workers(db, stale_after_seconds=5) == ["placer"]

    back = entry(db, request)
    assert (back.state, back.kind, back.callback_number) == (router.WAITING, "callback", "2001")
    assert back.enqueued_at == requested_at and back.worker is None
    assert agent_state(db, agent) == AgentState.AVAILABLE
    (again,) = router.claim_callbacks(db, "first")
    assert again.entry_id == request and again.agent.agent_id == agent


def test_a_callback_that_reached_the_customer_is_not_placed_twice(db: Database) -> None:
    placer = heartbeat.register_worker(db, "placer", "127.0.0.1", 2, 5082, "http://y", 3)
    cdr.open_call(db, "asked", "2001", "800", None)
    request = router.enqueue(db, "asked", worker="first")
    router.request_callback(db, request, "2001")
    agent = add_agent(db, "ann")
    (offer,) = router.claim_callbacks(db, "placer")
    cdr.open_call(db, "dialling", "placer", "2001", placer, "outbound")
    router.answered(db, offer.entry_id)
    assert agents.bridge(db, agent, "dialling")

    go_stale(db, placer)
    reaper.reap_stale_workers(db, stale_after_seconds=5)

    assert entry(db, request).state == router.CONNECTED
    assert agent_state(db, agent) == AgentState.AVAILABLE  # freed with the failed call
    assert router.claim_callbacks(db, "other") == []


def test_a_waiting_callback_request_survives_the_death_of_the_worker_it_was_made_on(
    db: Database,
) -> None:
    first = heartbeat.register_worker(db, "first", "127.0.0.1", 1, 5081, "http://x", 3)
    cdr.open_call(db, "asked", "2001", "800", first)
    request = router.enqueue(db, "asked", worker="first")
    router.request_callback(db, request, "2001")
    cdr.close_call(db, "asked", "completed")

    go_stale(db, first)
    reaper.reap_stale_workers(db, stale_after_seconds=5)

    assert (entry(db, request).state, entry(db, request).kind) == (router.WAITING, "callback")


def test_a_worker_restarted_before_its_heartbeat_went_stale_closes_its_previous_life(
    db: Database,
) -> None:
    first = heartbeat.register_worker(db, "w1", "127.0.0.1", 1, 5081, "http://x", 3)
    cdr.open_call(db, "mid-call", "caller", "800", first)
    ghost = router.enqueue(db, "mid-call", worker="w1")
    again = heartbeat.register_worker(db, "w1", "127.0.0.1", 99, 5081, "http://x", 3)
    assert again == first
    with db.session() as session:
        call = session.get(Call, "mid-call")
        assert call is not None and call.outcome == "failed" and call.ended_at is not None
    assert entry(db, ghost).state == router.ABANDONED


def test_a_worker_seen_to_exit_by_its_parent_is_buried_at_once_and_only_that_life(
    db: Database,
) -> None:
    worker = heartbeat.register_worker(db, "switch-0", "127.0.0.1", 41, 5081, "http://x", 3)
    cdr.open_call(db, "mid-call", "caller", "800", worker)
    assert not reaper.bury_exited_worker(db, "switch-0", 40)  # an older life: nothing to do
    assert reaper.bury_exited_worker(db, "switch-0", 41)  # heartbeat still fresh
    assert not reaper.bury_exited_worker(db, "switch-0", 41)  # once only
    with db.session() as session:
        call = session.get(Call, "mid-call")
        row = session.get(Worker, worker)
        assert call is not None and call.outcome == "failed"
        assert row is not None and not row.alive


def test_a_worker_never_buries_itself_however_old_its_row_looks(db: Database) -> None:
    """A beat that waited behind a long writer stores the time it was made: the worker's own
    row then looks stale to its own reaper, which buried it (and its live calls) before."""
    me = heartbeat.register_worker(db, "me", "127.0.0.1", 1, 5081, "http://x", 3)
    cdr.open_call(db, "mine", "caller", "800", me)
    go_stale(db, me)
    assert reaper.reap_stale_workers(db, stale_after_seconds=5, reaper_id=me) == []
    with db.session() as session:
        row = session.get(Worker, me)
        assert row is not None and row.alive
        call = session.get(Call, "mine")
        assert call is not None and call.ended_at is None
    assert reaper.reap_stale_workers(db, stale_after_seconds=5) == ["me"]  # others would
