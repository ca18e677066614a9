"""The worker heartbeat: this worker's `workers` row (alive, load, heartbeat) and `dispatcher` row.

Not SIP registrations (those are Kamailio's `location` table): this is how the edge, the
console and the other workers learn that a switch worker is alive and where its control API is.
`Heartbeat` is the thread that keeps the row fresh and does the chores of every live worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from store import agents
from store.db import DISK_FULL_ADVICE, Database, disk_full_error
from store.kamailio_tables import dispatcher
from store.models import Worker, utcnow
from store.settings import Settings
from telephony.reaper import bury, reap_stale_workers

log = logging.getLogger("centralino.switch")

#: Dispatcher set the edge sends support-number and DID calls to.
DISPATCHER_SET = 1


def destination(host: str, sip_port: int) -> str:
    return f"sip:{host}:{sip_port}"


def register_worker(
    db: Database, name: str, host: str, pid: int, sip_port: int, api_url: str, capacity: int
) -> int:
    """Insert or refresh this worker's row (names are stable across restarts) and dispatcher row.

    A fresh process has no calls: whatever a previous life under this name left open is closed
    first (`telephony.reaper.bury`), even when it was restarted before its heartbeat went stale."""
    now = utcnow()
    values = {
        "host": host,
        "pid": pid,
        "sip_port": sip_port,
        "api_url": api_url,
        "capacity": capacity,
        "load": 0,
        "started_at": now,
        "heartbeat_at": now,
        "alive": True,
    }
    with db.session() as session:
        worker = session.scalar(select(Worker).where(Worker.name == name))
        if worker is not None:  # a previous life of this worker (it may have died unnoticed)
            bury(session, worker, now)
        if worker is None:
            worker = Worker(name=name, **values)
            session.add(worker)
        else:
            for key, value in values.items():
                setattr(worker, key, value)
        session.flush()
        worker_id = worker.id
        target = destination(host, sip_port)
        session.execute(delete(dispatcher).where(dispatcher.c.destination == target))
        session.execute(
            insert(dispatcher).values(
                setid=DISPATCHER_SET,
                destination=target,
                flags=0,
                priority=0,
                attrs=f"worker={name}",
                description=name[:64],
            )
        )
    return worker_id


def beat(db: Database, worker_id: int, load: int) -> None:
    """This worker is alive: a fresh heartbeat with its load (live legs)."""
    with db.session() as session:
        session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(heartbeat_at=utcnow(), load=load, alive=True)
        )


def unregister_worker(db: Database, worker_id: int, host: str, sip_port: int) -> None:
    """Leave the dispatcher set and mark the row not alive (the row stays for the CDRs)."""
    with db.session() as session:
        session.execute(
            delete(dispatcher).where(dispatcher.c.destination == destination(host, sip_port))
        )
        session.execute(update(Worker).where(Worker.id == worker_id).values(alive=False, load=0))


@dataclass
class Heartbeat:
    """The worker's heartbeat thread: every ``heartbeat_seconds`` this worker's `beat`, then the
    chores any live worker does for all of them: wrap-ups that are due end
    (`store.agents.end_due_wrap_ups`), dead workers' calls are closed (`reaper.reap_stale_workers`),
    and *on_beat* runs (the worker rereads its support numbers). It ends with *stopping*."""

    db: Database
    settings: Settings
    worker_id: int
    load: Callable[[], int]
    on_beat: Callable[[], None]
    stopping: threading.Event

    def start(self) -> Heartbeat:
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()
        return self

    def _run(self) -> None:
        full_since: float | None = None  # the database's disk has been full since then
        reap_after = 0.0  # no reaping until then: every worker's beats failed together
        while not self.stopping.wait(self.settings.heartbeat_seconds):
            try:
                began = time.monotonic()
                beat(self.db, self.worker_id, self.load())
                if time.monotonic() - began > self.settings.heartbeat_seconds:
                    # the database held our beat up (a long writer): the other workers' beats
                    # were held up alike, so they look stale without being dead
                    reap_after = time.monotonic() + self.settings.stale_after_seconds
                if full_since is not None:
                    log.warning("event=heartbeat.disk_space_back after %.0f s",
                                time.monotonic() - full_since)
                    full_since = None
                    # the others' heartbeats are as old as ours: give them a window to beat
                    reap_after = time.monotonic() + self.settings.stale_after_seconds
                agents.end_due_wrap_ups(self.db)
                if time.monotonic() >= reap_after:
                    reaped = reap_stale_workers(
                        self.db, self.settings.stale_after_seconds, reaper_id=self.worker_id
                    )
                    if reaped:
                        log.warning("closed the open calls of dead worker(s) %s",
                                    ", ".join(reaped))
                self.on_beat()
            except Exception as error:
                if not disk_full_error(error):
                    log.exception("heartbeat failed")
                elif full_since is None:  # once, not every beat: calls go on meanwhile
                    full_since = time.monotonic()
                    log.error("event=heartbeat.disk_full: %s; calls go on", DISK_FULL_ADVICE)
