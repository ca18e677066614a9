"""The two paths a benchmark call can take, and what each costs: bridged through the Kamailio
edge and switch workers to registered agent phones, or direct from phone to phone."""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bench.resources import process_tree, rss_kib

if TYPE_CHECKING:
    from telephony.testing.deployment import Deployment
    from telephony.testing.edge import EdgeUnderTest
    from telephony.testing.phones import Phone
    from telephony.testing.workers import WorkerProcess

T = TypeVar("T")
CALLS_PER_PHONE = 4  # pjsua2 wheel: PJSUA_MAX_CALLS
FLOW = "bench.callflow:straight_to_agent"


@dataclass
class CallPath:
    """What a step needs from either path (bridged through our switch, or direct)."""

    name: str
    callers: list[Phone]
    answerers: list[Phone]
    target: Callable[[int], str]
    measured_pids: Callable[[], list[int]]
    memory_pids: Callable[[], list[int]] = list
    idle_cores: float = 0.0
    idle_phone_cores: float = 0.0
    idle_rss_kib: int = 0
    idle_threads: dict[str, float] = field(default_factory=dict)
    before_step: Callable[[], None] = lambda: None
    health: Callable[[], int] = lambda: 0

    def phone_pids(self) -> list[int]:
        return [p.process.pid for p in [*self.callers, *self.answerers]]

    def rss(self) -> int:
        return sum(rss_kib(pid) for pid in self.memory_pids())


def phone_slots(phones: Sequence[T], calls: int) -> list[T]:
    """The phone that places call *k* (each phone holds `CALLS_PER_PHONE` calls)."""
    needed = math.ceil(calls / CALLS_PER_PHONE)
    if needed > len(phones):
        raise ValueError(f"{calls} calls need {needed} phones, have {len(phones)}")
    return [phones[k // CALLS_PER_PHONE] for k in range(calls)]


def phones_for(calls: int) -> int:
    return math.ceil(calls / CALLS_PER_PHONE)


def start_phones(deployment: Deployment, names: list[str], auto_answer: bool) -> list[Phone]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda name: deployment.phone(name, auto_answer=auto_answer), names))


def register_agents(deployment: Deployment, edge: EdgeUnderTest, count: int) -> list[Phone]:
    extensions = [str(3001 + n) for n in range(count)]
    passwords = {ext: edge.add_device(ext) for ext in extensions}
    for ext in extensions:
        deployment.add_agent(ext)
    phones = start_phones(deployment, [f"agent{ext}" for ext in extensions], auto_answer=True)
    for ext, phone in zip(extensions, phones, strict=True):
        registration = phone.register(
            edge.uri_host, ext, passwords[ext], domain=edge.settings.sip_domain
        )
        if registration["code"] != 200:
            raise RuntimeError(f"agent {ext} did not register: {registration}")
    return phones


def worker_config(deployment: Deployment, edge: EdgeUnderTest) -> Path:
    config = deployment.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain,
        heartbeat_seconds=1.0, stale_after_seconds=5.0,
    )  # fmt: skip
    lines = [line for line in config.read_text().splitlines() if not line.startswith("flow =")]
    if lines[-1] != "auto_answer = true":  # our flow goes in the [extra] table, which ends it
        raise RuntimeError(f"unexpected worker configuration layout in {config}")
    config.write_text("\n".join([*lines, f'flow = "{FLOW}"']) + "\n")
    return config


def wait_dispatcher(
    edge: EdgeUnderTest, workers: Sequence[WorkerProcess], timeout: float = 30.0
) -> None:
    """Until Kamailio itself has loaded every worker (a reload may be refused for 5 s)."""
    from telephony.edge import EdgeError

    wanted = [f"sip:{worker.sip_uri_host}" for worker in workers]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(EdgeError):
            if all(uri in edge.edge.rpc("dispatcher.list") for uri in wanted):
                return
            edge.edge.rpc("dispatcher.reload")
        time.sleep(0.5)
    raise RuntimeError("Kamailio did not load every worker")


def agents_available(deployment: Deployment) -> Callable[[], None]:
    from sqlalchemy import update

    from store.models import Agent, AgentState

    def reset() -> None:
        with deployment.db.session() as session:
            session.execute(update(Agent).values(state=AgentState.AVAILABLE))

    return reset


def workers_idle(workers: Sequence[WorkerProcess], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(w.get("/health")["load"] == 0 for w in workers):
            return
        time.sleep(0.1)


def dropped_frames(workers: Sequence[WorkerProcess]) -> int:
    return sum(int(w.get("/health")["tap_frames_dropped"]) for w in workers)


def switch_path(
    deployment: Deployment, edge: EdgeUnderTest, calls: int
) -> tuple[CallPath, list[WorkerProcess]]:
    agents = register_agents(deployment, edge, calls)
    callers = start_phones(deployment, [f"caller{n}" for n in range(phones_for(calls))], False)
    workers = deployment.start_workers(calls, worker_config(deployment, edge))
    wait_dispatcher(edge, workers)
    reset = agents_available(deployment)

    def before() -> None:
        workers_idle(workers)
        reset()

    def pids() -> list[int]:
        assert edge.edge.process is not None
        return [w.process.pid for w in workers] + process_tree(edge.edge.process.pid)

    support = f"sip:800@{edge.uri_host}"
    path = CallPath(
        "switch", callers, agents, lambda _k: support, pids,
        memory_pids=lambda: [w.process.pid for w in workers], before_step=before,
        health=lambda: dropped_frames(workers),
    )  # fmt: skip
    return path, workers


def direct_path(deployment: Deployment, calls: int) -> CallPath:
    count = phones_for(calls)
    callers = start_phones(deployment, [f"refcaller{n}" for n in range(count)], False)
    callees = start_phones(deployment, [f"refcallee{n}" for n in range(count)], True)
    slots = phone_slots(callees, calls)

    def pids() -> list[int]:
        return [p.process.pid for p in [*callers, *callees]]

    return CallPath("direct", callers, callees, lambda k: slots[k].uri, pids, memory_pids=pids)
