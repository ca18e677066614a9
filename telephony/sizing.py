"""How many switch workers a machine runs, and what capacity they give, in bridged calls.

A worker holds ``library maximum - 1`` legs (3 with the PyPI pjsua2 wheel, see
`telephony.admission`): one bridged call (two legs) plus one caller in the IVR or in line. So
``centralino up`` with ``workers = 0`` (the default) starts one worker per agent configured (at
least 2: a caller can always be in the IVR while another is bridged), capped by what the machine
carries: ``CALLS_PER_CORE`` bridged calls per core (an IVR call costs ~60-110 ms of CPU per
second in `docs/benchmarks.md`, kept at half a core's worth) and ``WORKER_MEMORY`` each, after
``RESERVED_MEMORY`` for Kamailio, the speech service (the Vosk model) and the console. An
explicit ``workers = N`` wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from store.db import Database
from store.models import Agent, Role, Worker
from store.settings import Settings

CALLS_PER_CORE = 6
WORKER_MEMORY = 150 * 2**20
RESERVED_MEMORY = 1024 * 2**20
MIN_WORKERS = 2
LEGS_PER_BRIDGED_CALL = 2


def default_workers(cores: int, memory_bytes: int, agents: int) -> int:
    """Workers for *agents* on a machine of *cores* and *memory_bytes* (see the module)."""
    wanted = max(MIN_WORKERS, agents)
    by_cpu = max(1, cores * CALLS_PER_CORE)
    by_memory = max(1, (memory_bytes - RESERVED_MEMORY) // WORKER_MEMORY)
    return max(1, min(wanted, by_cpu, by_memory))


def machine_memory() -> int:
    """Physical memory in bytes (``/proc/meminfo``'s MemTotal; 0 when unknown)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configured_agents(db: Database) -> int:
    with db.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Agent).where(Agent.role == Role.AGENT)
        )
    return int(count or 0)


def worker_count(settings: Settings, db: Database) -> int:
    """``settings.workers`` when set, else the machine's default for the agents configured."""
    if settings.workers > 0:
        return settings.workers
    memory = machine_memory() or (MIN_WORKERS * WORKER_MEMORY + RESERVED_MEMORY)
    return default_workers(machine_cores(), memory, configured_agents(db))


@dataclass(frozen=True)
class Capacity:
    """What the live workers hold now: legs, bridged calls (a call never spans workers, so
    each worker's legs are halved on their own), and how full they are."""

    workers: int
    legs: int
    bridged_calls: int
    legs_in_use: int

    @property
    def percent_full(self) -> int:
        return round(100 * self.legs_in_use / self.legs) if self.legs else 100

    def describe(self) -> str:
        return (
            f"Capacity: {self.bridged_calls} bridged calls on {self.workers} live worker(s) "
            f"({self.legs} legs); in use {self.legs_in_use} legs, {self.percent_full}% full"
        )


def live_capacity(db: Database, fresh_since: datetime) -> Capacity:
    """The capacity of workers alive with a heartbeat newer than *fresh_since*."""
    with db.session() as session:
        rows = session.execute(
            select(Worker.capacity, Worker.load).where(
                Worker.alive.is_(True), Worker.heartbeat_at >= fresh_since
            )
        ).all()
    return Capacity(
        workers=len(rows),
        legs=sum(c for c, _ in rows),
        bridged_calls=sum(c // LEGS_PER_BRIDGED_CALL for c, _ in rows),
        legs_in_use=sum(min(c, n) for c, n in rows),
    )
