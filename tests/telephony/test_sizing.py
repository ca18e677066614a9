"""How many workers a machine runs, and the capacity `centralino status` shows in bridged calls."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from store.db import Database
from store.migrate import upgrade
from store.models import Agent, Role, Worker, utcnow
from store.settings import Settings
from telephony import heartbeat, sizing
from telephony.status import status_report

GIB = 2**30


def test_one_worker_per_agent_at_least_two_capped_by_cores_and_memory() -> None:
    assert sizing.default_workers(cores=8, memory_bytes=16 * GIB, agents=0) == 2
    assert sizing.default_workers(cores=8, memory_bytes=16 * GIB, agents=12) == 12
    assert sizing.default_workers(cores=1, memory_bytes=16 * GIB, agents=40) == 6  # CPU
    assert sizing.default_workers(cores=16, memory_bytes=2 * GIB, agents=40) == 6  # memory
    assert sizing.default_workers(cores=1, memory_bytes=GIB // 2, agents=3) == 1  # never 0


def test_an_explicit_worker_count_wins_and_zero_follows_the_agents(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        session.add_all(
            Agent(name=f"A{n}", username=f"a{n}", password_hash="-", role=Role.AGENT)
            for n in range(3)
        )
        session.add(Agent(name="Boss", username="boss", password_hash="-", role=Role.ADMIN))
    assert sizing.worker_count(Settings(var_dir=tmp_path, workers=5), db) == 5
    expected = sizing.default_workers(sizing.machine_cores(), sizing.machine_memory(), 3)
    assert sizing.worker_count(Settings(var_dir=tmp_path, workers=0), db) == expected
    db.dispose()


def test_status_shows_capacity_in_bridged_calls_and_how_full(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    first = heartbeat.register_worker(db, "switch-0", "127.0.0.1", 1, 5081, "http://x", 3)
    heartbeat.register_worker(db, "switch-1", "127.0.0.1", 2, 5082, "http://y", 3)
    gone = heartbeat.register_worker(db, "switch-2", "127.0.0.1", 3, 5083, "http://z", 3)
    heartbeat.beat(db, first, 2)
    with db.session() as session:
        session.execute(
            update(Worker)
            .where(Worker.id == gone)
            .values(heartbeat_at=utcnow() - timedelta(minutes=5))
        )
    report = status_report(settings)
    assert "Capacity: 2 bridged calls on 2 live worker(s) (6 legs); in use 2 legs, 33% full" in (
        report
    )
    db.dispose()
