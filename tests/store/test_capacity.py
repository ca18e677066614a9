"""The workers' capacity for the admin home: load per worker, stale heartbeats flagged, totals
over the fresh workers only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from store.capacity import DEAD, FRESH, STALE, capacity
from store.db import Database
from store.migrate import upgrade
from store.models import Worker, utcnow


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def _worker(name: str, load: int, legs: int, age_seconds: float, alive: bool = True) -> Worker:
    return Worker(name=name, host="127.0.0.1", pid=1, sip_port=5080, api_url=f"http://{name}",
                  capacity=legs, load=load, alive=alive,
                  heartbeat_at=utcnow() - timedelta(seconds=age_seconds))


def test_a_stale_heartbeat_is_flagged_and_its_room_not_counted(db: Database) -> None:
    with db.session() as session:
        session.add_all([_worker("w2", 3, 4, 1), _worker("w1", 1, 4, 0.5),
                         _worker("w3", 0, 4, 30), _worker("w4", 2, 4, 500, alive=False)])
    with db.session() as session:
        seen = capacity(session, stale_after_seconds=10)
    assert [(w.name, w.status) for w in seen.workers] == [
        ("w1", FRESH), ("w2", FRESH), ("w3", STALE), ("w4", DEAD)]
    assert [w.free for w in seen.workers] == [3, 1, 0, 0]
    assert (seen.legs, seen.in_use, seen.free) == (8, 4, 4)
    assert [w.name for w in seen.stale] == ["w3"]
    assert seen.workers[1].percent == 75
    assert 29 < seen.workers[2].heartbeat_age_seconds < 60


def test_no_workers_no_room(db: Database) -> None:
    with db.session() as session:
        seen = capacity(session, stale_after_seconds=10)
    assert seen.workers == [] and (seen.legs, seen.in_use, seen.free) == (0, 0, 0)


def test_a_worker_with_no_capacity_reported_is_zero_percent(db: Database) -> None:
    with db.session() as session:
        session.add(_worker("w1", 0, 0, 0))
    with db.session() as session:
        only = capacity(session, stale_after_seconds=10).workers[0]
    assert (only.percent, only.free) == (0, 0)
