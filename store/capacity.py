"""The switch workers' capacity as an admin sees it: per worker its legs in use out of its
capacity and whether its heartbeat is fresh, and the totals over the live, fresh workers.

A worker reports ``capacity`` (call legs it can hold) and ``load`` with every heartbeat
(`store.models.Worker`); one whose heartbeat is older than the deployment's
``stale_after_seconds`` is flagged stale (the edge stops routing to it while others are fresh,
and a reaper closes its calls once it is known dead), and its legs are not counted as free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Worker, utcnow

FRESH, STALE, DEAD = "fresh", "stale", "dead"


@dataclass(frozen=True)
class WorkerCapacity:
    """One worker: its legs in use out of its capacity and how recent its heartbeat is."""

    name: str
    api_url: str
    load: int
    capacity: int
    heartbeat_at: datetime
    heartbeat_age_seconds: float
    status: str  # fresh | stale | dead

    @property
    def free(self) -> int:
        """Legs a new call could take here (none on a stale or dead worker)."""
        return max(0, self.capacity - self.load) if self.status == FRESH else 0

    @property
    def percent(self) -> int:
        return round(100 * self.load / self.capacity) if self.capacity > 0 else 0


@dataclass(frozen=True)
class Capacity:
    """Every worker, and the totals over the fresh ones."""

    workers: list[WorkerCapacity]

    @property
    def legs(self) -> int:
        return sum(w.capacity for w in self.workers if w.status == FRESH)

    @property
    def in_use(self) -> int:
        return sum(w.load for w in self.workers if w.status == FRESH)

    @property
    def free(self) -> int:
        return sum(w.free for w in self.workers)

    @property
    def stale(self) -> list[WorkerCapacity]:
        return [w for w in self.workers if w.status == STALE]


def capacity(session: Session, stale_after_seconds: float, now: datetime | None = None
             ) -> Capacity:
    """The workers by name with their load and heartbeat status, at *now* (default: now)."""
    now = now or utcnow()
    limit = timedelta(seconds=stale_after_seconds)
    rows = session.execute(
        select(Worker.name, Worker.api_url, Worker.load, Worker.capacity, Worker.heartbeat_at,
               Worker.alive).order_by(Worker.name)
    ).all()
    found = []
    for name, api_url, load, legs, heartbeat_at, alive in rows:
        age = now - heartbeat_at
        status = DEAD if not alive else (STALE if age > limit else FRESH)
        found.append(WorkerCapacity(
            name=name, api_url=api_url, load=load or 0, capacity=legs or 0,
            heartbeat_at=heartbeat_at, heartbeat_age_seconds=max(0.0, age.total_seconds()),
            status=status,
        ))
    return Capacity(found)
