"""Pure store logic of the switch: CDR closing, stale-worker reaping, the worker heartbeat."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from store.db import Database
from store.kamailio_tables import dispatcher
from store.migrate import upgrade
from store.models import Agent, AgentState, Call, CallState, Worker, utcnow
from telephony import cdr, heartbeat, reaper
from telephony.call_record import CallRecord


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def destinations(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return [row.destination for row in connection.execute(select(dispatcher))]


def test_heartbeat_inserts_refreshes_and_removes_the_dispatcher_row(db: Database) -> None:
    worker_id = heartbeat.register_worker(db, "w1", "127.0.0.1", 11, 5081, "http://x", 3)
    again = heartbeat.register_worker(db, "w1", "127.0.0.1", 12, 5081, "http://x", 3)
    assert again == worker_id
    assert destinations(db) == ["sip:127.0.0.1:5081"]
    heartbeat.beat(db, worker_id, load=2)
    with db.session() as session:
        row = session.get(Worker, worker_id)
        assert row is not None and row.load == 2 and row.pid == 12 and row.alive
    heartbeat.unregister_worker(db, worker_id, "127.0.0.1", 5081)
    assert destinations(db) == []
    with db.session() as session:
        row = session.get(Worker, worker_id)
        assert row is not None and not row.alive


def test_a_stale_worker_has_its_open_calls_failed_and_its_agent_freed(db: Database) -> None:
    dead = heartbeat.register_worker(db, "dead", "127.0.0.1", 1, 5081, "http://x", 3)
    live = heartbeat.register_worker(db, "live", "127.0.0.1", 2, 5082, "http://y", 3)
    cdr.open_call(db, "c-dead", "caller", "800", dead)
    leg = cdr.add_leg(db, "c-dead", "customer", "caller")
    cdr.leg_answered(db, leg, "sip-call-id")
    cdr.open_call(db, "c-done", "caller", "800", dead)
    cdr.close_call(db, "c-done", "completed")
    cdr.open_call(db, "c-live", "caller", "800", live)
    with db.session() as session:
        agent = Agent(name="A", username="a", password_hash="x", state=AgentState.ON_CALL)
        agent.claimed_by_call = "c-dead"
        session.add(agent)
        session.execute(
            update(Worker)
            .where(Worker.id == dead)
            .values(heartbeat_at=utcnow() - timedelta(seconds=30))
        )

    assert reaper.reap_stale_workers(db, stale_after_seconds=5) == ["dead"]
    assert reaper.reap_stale_workers(db, stale_after_seconds=5) == []  # once only

    with db.session() as session:
        failed = session.get(Call, "c-dead")
        assert failed is not None and failed.outcome == "failed" and failed.ended_at
        assert all(leg.end_reason == "worker failed" for leg in failed.legs)
        done = session.get(Call, "c-done")
        assert done is not None and done.outcome == "completed"
        still = session.get(Call, "c-live")
        assert still is not None and still.ended_at is None
        freed = session.scalar(select(Agent))
        assert freed is not None and freed.state == AgentState.AVAILABLE
        assert freed.claimed_by_call is None
    assert destinations(db) == ["sip:127.0.0.1:5082"]


def test_close_call_keeps_the_first_outcome(db: Database) -> None:
    cdr.open_call(db, "c1", "caller", "800", None)
    cdr.close_call(db, "c1", "completed")
    cdr.close_call(db, "c1", "failed")
    with db.session() as session:
        call = session.get(Call, "c1")
        assert call is not None and call.outcome == "completed"


class HeldStore:
    """A switch whose store thread is held up: writes queue until `run` (as behind a long
    writer), so a stamp taken when the write runs would come after the moment it records."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.worker_id: int | None = None
        self.jobs: list[Callable[[], Any]] = []

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        self.jobs.append(job)

    def run(self) -> None:
        for job in self.jobs:
            job()
        self.jobs.clear()


def test_a_held_up_store_keeps_each_moment_of_the_call_when_it_happened(db: Database) -> None:
    switch = HeldStore(db)
    record = CallRecord(switch, "c-held")
    before = utcnow()
    record.opened("caller", "800")
    record.leg_added("c-held/1", "customer", "caller")
    record.leg_answered("c-held/1", "sip-1")
    answered = utcnow()
    record.state(CallState.IVR, answered_at=answered)  # the IVR stamps its answer at the event
    record.leg_ended("c-held/1", "hangup")
    record.closed("completed", {})
    happened = utcnow()
    while utcnow() <= happened:  # the store is held up while the wall clock moves on
        pass
    switch.run()
    with db.session() as session:
        call = session.get(Call, "c-held")
        assert call is not None
        moments = [call.started_at, answered, call.ended_at]
        assert in_order([before, *moments, happened]), moments
        assert in_order([before, *legs(call), happened]), legs(call)


def legs(call: Call) -> list[datetime | None]:
    leg = call.legs[0]
    return [leg.started_at, leg.answered_at, leg.ended_at]


def in_order(moments: list[datetime | None]) -> bool:
    return all(a is not None and b is not None and a <= b for a, b in pairwise(moments))
