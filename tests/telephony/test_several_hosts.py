"""Three switch hosts, one edge, one PostgreSQL: a host dies mid-call, the others go on.

Each host is a network namespace with its own address (`tests.harness.hosts`) running two
switch workers bound to it (``switch_address``, ``control_address``); the edge (Kamailio),
PostgreSQL and the phones are in the root namespace on the bridge (``10.77.0.1``). No speech
service: the workers run the greeting flow. A burst of three callers spreads over the hosts
and each is bridged to an agent; then every process of one host is killed with ``kill -9``.
What must hold (docs/deployment.md): the calls on the other hosts stay up and carry audio both
ways, the dead host's calls are closed as ``failed`` and their phones hung up within seconds,
its workers leave the dispatcher, its agent is free again and takes the next caller, who lands
on a survivor, and no caller is offered to an agent twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from console.testing.console_process import ConsoleProcess
from store.models import Agent, AgentState, Call, Role, Worker
from store.passwords import ScryptCost, hash_password
from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.phones import Phone
from telephony.testing.workers import (
    EventStream,
    WorkerProcess,
    await_ready,
    launch_worker,
    wait_until,
    write_config,
)
from tests.harness.hosts import GATEWAY, NETWORK, SwitchHost, host_network
from tests.harness.parts import require
from tests.harness.postgres import running_postgres
from tests.telephony.test_switch_behind_edge import registered_agent

pytestmark = pytest.mark.e2e

HOSTS, WORKERS_PER_HOST, CALLERS = 3, 2, 3
HEARTBEAT, STALE = 0.5, 2.0
#: From the kill to the dead host's calls closed and its phones hung up: a stale heartbeat
#: (STALE), the survivors' reaper and the edge's keeper at their next look.
CLOSED_WITHIN = 8.0
CALLER_HZ, AGENT_HZ = 1500.0, 1000.0
WRAP_UP_SECONDS = 120  # longer than the test: an agent whose call ended is not rung again


@pytest.fixture
def hosts() -> Iterator[list[SwitchHost]]:
    require("netns")
    with host_network(HOSTS) as made:
        yield made


@pytest.fixture
def database(hosts: list[SwitchHost]) -> Iterator[str]:
    require("postgresql")
    with running_postgres(GATEWAY, clients=NETWORK) as url:
        yield url


@pytest.fixture
def console(deployment: Deployment) -> Iterator[tuple[ConsoleProcess, str]]:
    """The console in the root namespace on the same PostgreSQL and token, and a supervisor's
    session cookie: its live-calls page asks every worker at its advertised control URL."""
    password = hash_password("floor-pw", ScryptCost(2**10, 8, 1))
    with deployment.db.session() as session:
        session.add(Agent(name="Sam", username="sam", role=Role.SUPERVISOR, password_hash=password))
    process = ConsoleProcess(deployment.root, deployment.db_url).start()
    try:
        yield process, process.sign_in("sam", "floor-pw")
    finally:
        process.stop()


def live_calls_seen_by_console(console: tuple[ConsoleProcess, str]) -> dict[str, str]:
    """Call id -> worker name, as the supervisor's live calls list them (every live worker's
    ``GET /calls`` through its control API, with the deployment token)."""
    process, cookie = console
    status, _, body = process.get("/supervisor/api/calls", cookie=cookie)
    assert status == 200, status
    calls = json.loads(body)["calls"]
    unreachable = [c["worker"] for c in calls if c.get("state") == "worker unreachable"]
    assert not unreachable, f"the console cannot reach {unreachable}"
    return {c["id"]: c["worker"] for c in calls}


@pytest.fixture
def edge(tmp_path: Path, database: str) -> Iterator[EdgeUnderTest]:
    """The edge on the bridge: phones and workers reach it at GATEWAY; its store is PostgreSQL
    (conftest's `deployment` runs on it)."""
    settings = make_settings(
        tmp_path,
        sip_address=GATEWAY,
        edge_switch_address=GATEWAY,
        database_url=database,
        heartbeat_seconds=HEARTBEAT,
        stale_after_seconds=STALE,
    )
    with running_edge(tmp_path, settings=settings) as running:
        yield running


def start_hosts(
    deployment: Deployment, edge: EdgeUnderTest, hosts: list[SwitchHost]
) -> dict[str, SwitchHost]:
    """Two workers per host, each host with its own configuration (its address); returns
    worker name -> host once the edge routes to all of them."""
    launched: list[WorkerProcess] = []
    host_of: dict[str, SwitchHost] = {}
    for number, host in enumerate(hosts, 1):
        config = write_config(
            deployment.root / f"host{number}.toml",
            deployment.root,
            deployment.db_url,
            edge=edge.address,
            switch=edge.switch_address,
            sip_domain=edge.settings.sip_domain,
            heartbeat_seconds=HEARTBEAT,
            stale_after_seconds=STALE,
            host=host.address,
        )
        for index in range(1, WORKERS_PER_HOST + 1):
            name = f"switch-{index}-h{number}"  # sorted by name, the dispatcher alternates hosts
            worker = launch_worker(
                config, index, deployment.root, name, netns=host.name, host=host.address
            )
            launched.append(worker)
            host_of[name] = host
    deployment.workers.extend(launched)
    for worker in launched:
        await_ready(worker, timeout=90)
    want = sorted(f"sip:{w.sip_uri_host}" for w in launched)
    wait_until(lambda: sorted(edge.edge.destinations) == want, 15, "the edge routes to all")
    return host_of


def bridged_calls(deployment: Deployment, count: int) -> list[Call]:
    """The CDRs once *count* calls have an agent who is on the call."""

    def ready() -> list[Call] | None:
        calls = [c for c in deployment.calls() if c.ended_at is None and c.agent_id is not None]
        agent_ids = [c.agent_id for c in calls if c.agent_id is not None]
        on_call = all(deployment.agent_state(a) == AgentState.ON_CALL for a in agent_ids)
        return calls if len(calls) == count and on_call else None

    calls: list[Call] = wait_until(ready, 30, f"{count} calls bridged")
    return calls


def worker_names(deployment: Deployment) -> dict[int, str]:
    with deployment.db.session() as session:
        return {row.id: row.name for row in session.scalars(select(Worker))}


def claimed_agents(deployment: Deployment) -> list[tuple[str, str, str | None]]:
    with deployment.db.session() as session:
        rows = session.scalars(
            select(Agent).where(Agent.state.in_((AgentState.RINGING, AgentState.ON_CALL)))
        ).all()
        return [(a.name, a.state.value, a.claimed_by_call) for a in rows]


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def test_a_host_killed_mid_call_leaves_the_other_hosts_calls_untouched(
    hosts: list[SwitchHost],
    edge: EdgeUnderTest,
    deployment: Deployment,
    console: tuple[ConsoleProcess, str],
) -> None:
    agents = [
        registered_agent(deployment, edge, f"10{n:02d}", address=GATEWAY)
        for n in range(1, CALLERS + 1)
    ]
    with deployment.db.session() as session:  # after a call, an agent stays in wrap-up
        session.execute(update(Agent).values(wrapup_seconds=WRAP_UP_SECONDS))
    host_of = start_hosts(deployment, edge, hosts)
    streams: list[EventStream] = [w.events() for w in deployment.workers]
    with deployment.db.session() as session:
        rows = [(row.name, row.api_url) for row in session.scalars(select(Worker))]
    for name, api_url in rows:  # what the console dials: the host's address, not loopback
        assert api_url.startswith(f"http://{host_of[name].address}:"), (name, api_url)

    # A burst: every caller at once; each is greeted, presses 0 (an agent) and gets one.
    callers = [deployment.phone(f"caller{n}", address=GATEWAY) for n in range(1, CALLERS + 1)]
    calls = [phone.call(f"sip:{SUPPORT}@{edge.uri_host}") for phone in callers]
    for phone, call in zip(callers, calls, strict=True):
        phone.wait_for("state", call=call, state="confirmed", timeout=20)
        phone.dtmf(call, "0")
    cdrs = bridged_calls(deployment, CALLERS)
    names = worker_names(deployment)
    host_of_call = {c.id: host_of[names[c.worker_id]] for c in cdrs if c.worker_id}
    assert len(host_of_call) == CALLERS
    used = {host.name for host in host_of_call.values()}
    assert len(used) >= 2, f"the burst stayed on one host: {host_of_call}"
    seen = live_calls_seen_by_console(console)  # each call on its worker, whatever the host
    assert all(c.worker_id and seen.get(c.id) == names[c.worker_id] for c in cdrs), seen
    agent_calls: dict[str, int] = {}
    for phone in agents:
        agent_calls[phone.name] = phone.wait_for("incoming", timeout=10)["call"]
        phone.wait_for("state", call=agent_calls[phone.name], state="confirmed", timeout=10)
    by_peer: dict[str, tuple[Phone, int, Phone, int]] = {}  # CDR -> caller, call, agent, call
    for cdr in cdrs:
        agent_phone = next(p for p in agents if p.name == f"agent{_extension(deployment, cdr)}")
        caller_index = _caller_of(cdr, callers)
        by_peer[cdr.id] = (
            callers[caller_index], calls[caller_index],
            agent_phone, agent_calls[agent_phone.name],
        )  # fmt: skip

    # kill -9 of every process of the host of the first call.
    victim_call = cdrs[0].id
    victim = host_of_call[victim_call]
    dead = [c for c, h in host_of_call.items() if h == victim]
    alive = [c for c, h in host_of_call.items() if h != victim]
    assert alive, "every call was on the victim host"
    assert victim.kill_everything()
    killed_at = time.monotonic()
    processes = [w.process for w in deployment.workers if w.host == victim.address]
    wait_until(  # reaped (a zombie still counts as the namespace's)
        lambda: all(p.poll() is not None for p in processes) and not victim.pids(),
        5,
        "every process of the host gone",
    )

    for call_id in dead:  # its phones hear a BYE, its CDRs close as failed, within seconds
        caller, call, agent_phone, agent_call = by_peer[call_id]
        caller.wait_for("state", call=call, state="disconnected", timeout=CLOSED_WITHIN + 4)
        agent_phone.wait_for("state", call=agent_call, state="disconnected", timeout=4)
        cdr = deployment.ended_call(call_id, timeout=CLOSED_WITHIN)
        assert cdr.outcome == "failed"
        assert all(leg.ended_at is not None for leg in cdr.legs)
    closed_after = time.monotonic() - killed_at
    assert closed_after < CLOSED_WITHIN, f"the dead host's calls took {closed_after:.1f} s"
    dead_workers = [name for name, host in host_of.items() if host == victim]
    wait_until(  # a worker with no call is buried at the next reaper's look, not with the calls
        lambda: not any(deployment.worker_row(name).alive for name in dead_workers),
        CLOSED_WITHIN - (time.monotonic() - killed_at),
        "the dead host's workers marked dead",
    )
    gone = {f"sip:{victim.address}:{deployment.worker_row(n).sip_port}" for n in dead_workers}
    wait_until(lambda: not gone & set(edge.edge.destinations), 5, "the edge forgot the host")
    assert not gone & set(deployment.dispatcher_destinations())
    wait_until(lambda: len(claimed_agents(deployment)) == len(alive), 5, "dead claims freed")
    seen = live_calls_seen_by_console(console)  # the dead host's workers are no longer asked
    assert set(alive) <= set(seen) and not set(dead) & set(seen), seen
    assert not set(dead_workers) & set(seen.values()), seen

    # The other hosts' calls: still up, and audio both ways after the kill.
    for call_id in alive:
        caller, call, agent_phone, agent_call = by_peer[call_id]
        caller.tone(call, CALLER_HZ)
        agent_phone.tone(agent_call, AGENT_HZ)
    let_audio_flow(1.0)
    for call_id in alive:
        caller, call, agent_phone, agent_call = by_peer[call_id]
        assert not caller.seen("state", call=call, state="disconnected")
        assert not agent_phone.seen("state", call=agent_call, state="disconnected")
        assert deployment.call(call_id).ended_at is None

    # Hang up the survivors: each side heard the other's tone, sent after the kill.
    for call_id in alive:
        caller, call, agent_phone, agent_call = by_peer[call_id]
        caller.hangup(call)
        agent_phone.wait_for("state", call=agent_call, state="disconnected")
        assert tone_share(recording(caller.wait_for("recorded", call=call)["path"]),
                          AGENT_HZ) > 0.5  # fmt: skip
        assert tone_share(recording(agent_phone.wait_for("recorded", call=agent_call)["path"]),
                          CALLER_HZ) > 0.5  # fmt: skip
        assert deployment.ended_call(call_id).outcome != "failed"

    # The next caller lands on a survivor and gets the agent the dead host had claimed (the
    # survivors' agents are in their wrap-up: the freed one is the only agent available).
    freed = {by_peer[c][2].name for c in dead}
    late = deployment.phone("late", address=GATEWAY)
    late_call = late.call(f"sip:{SUPPORT}@{edge.uri_host}")
    late.wait_for("state", call=late_call, state="confirmed", timeout=20)
    late.dtmf(late_call, "0")
    (new,) = bridged_calls(deployment, 1)
    assert new.worker_id is not None
    assert host_of[worker_names(deployment)[new.worker_id]] != victim
    assert f"agent{_extension(deployment, new)}" in freed
    late.hangup(late_call)
    assert deployment.ended_call(new.id).outcome != "failed"

    # No caller was offered twice: one ring per call, on the worker that had it.
    rings: dict[str, int] = {}
    for stream in streams:
        for event in stream.events:
            if event.get("type") == "agent.ringing":
                rings[event["call_id"]] = rings.get(event["call_id"], 0) + 1
    assert rings == {call_id: 1 for call_id in [*host_of_call, new.id]}, rings
    assert sum(len(p.seen("incoming")) for p in agents) == CALLERS + 1
    wait_until(lambda: not claimed_agents(deployment), 10, "no agent left claimed")


def _extension(deployment: Deployment, cdr: Call) -> str:
    """The extension of the agent a CDR was bridged to."""
    with deployment.db.session() as session:
        agent = session.get(Agent, cdr.agent_id)
        assert agent is not None and agent.device is not None
        return agent.device.extension


def _caller_of(cdr: Call, callers: list[Phone]) -> int:
    """Which caller phone a CDR is (its From user is the phone's name)."""
    for index, phone in enumerate(callers):
        if f"sip:{phone.name}@" in (cdr.caller or ""):
            return index
    raise AssertionError(f"no caller phone for {cdr.caller!r}")
