"""`kill -9` of a switch worker mid-IVR, mid-queue and mid-bridge, behind a real Kamailio edge.

What must hold each time: the phones still on the dead worker's call hear a BYE (from the edge)
within seconds instead of silence, the CDR is closed as ``failed``, its queue entry is
abandoned (so a live caller behind it gets the next agent), and no agent stays claimed.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from store import agents
from store.models import AgentState, QueueEntry
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.phones import Phone
from telephony.testing.workers import WorkerProcess, await_ready, launch_worker, wait_until
from tests.telephony.test_switch_behind_edge import registered_agent

pytestmark = pytest.mark.e2e

HEARTBEAT, STALE = 0.5, 2.0
#: From the kill to the BYE: a stale heartbeat (STALE), the reaper's and the edge's next look.
HANGUP_WITHIN = 8.0


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    settings = make_settings(tmp_path, heartbeat_seconds=HEARTBEAT, stale_after_seconds=STALE)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


def start_workers(
    deployment: Deployment, edge: EdgeUnderTest, count: int, **options: object
) -> list[WorkerProcess]:
    config = deployment.config(
        edge=edge.address,
        switch=edge.switch_address,
        sip_domain=edge.settings.sip_domain,
        heartbeat_seconds=HEARTBEAT,
        stale_after_seconds=STALE,
        **options,
    )
    launched = [launch_worker(config, n, deployment.root) for n in range(1, count + 1)]
    deployment.workers.extend(launched)
    workers = [await_ready(w, timeout=90) for w in launched]  # the IVR warms numba kernels first
    want = [f"sip:{w.sip_uri_host}" for w in workers]
    wait_until(lambda: sorted(edge.edge.destinations) == sorted(want), 12, "edge has them")
    return workers


def support_uri(host: str) -> str:
    return f"sip:{SUPPORT}@{host}"


def only_call_id(deployment: Deployment) -> str:
    (call,) = wait_until(deployment.calls, 5, "the CDR is written")
    return call.id


def worker_of(deployment: Deployment, workers: list[WorkerProcess], call_id: str) -> WorkerProcess:
    row = deployment.call(call_id).worker_id
    return next(w for w in workers if deployment.worker_row(w.name).id == row)


def hung_up_after_kill(phone: Phone, call: int, killed_at: float) -> float:
    """The caller's phone hears the end of the call (a BYE, not a timeout); seconds it took."""
    phone.wait_for("state", call=call, state="disconnected", timeout=HANGUP_WITHIN + 4)
    took = time.monotonic() - killed_at
    assert took < HANGUP_WITHIN, f"the phone was left in silence for {took:.1f} s"
    return took


def entry_state(deployment: Deployment, call_id: str) -> str:
    with deployment.db.session() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_id == call_id))
        assert entry is not None
        return entry.state


def test_killed_mid_queue_the_caller_is_hung_up_and_the_next_caller_gets_the_agent(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent = deployment.add_agent("1001")
    with deployment.db.session() as session:
        assert agents.move(session, agent, "pause")  # nobody free: both callers wait in line
    workers = start_workers(deployment, edge, 2)
    streams = {w.name: w.events() for w in workers}
    first = deployment.phone("first", record=False)
    first_call = first.call(support_uri(edge.uri_host))
    first.wait_for("state", call=first_call, state="confirmed")
    first_id = only_call_id(deployment)
    victim = worker_of(deployment, workers, first_id)
    survivor = next(w for w in workers if w is not victim)
    streams[victim.name].wait_for("queued", call_id=first_id, timeout=15)
    second = deployment.phone("second", record=False)  # behind the first in line
    second_call = second.call(support_uri(survivor.sip_uri_host))
    second_id = streams[survivor.name].wait_for("queued", timeout=15)["call_id"]

    victim.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    hung_up_after_kill(first, first_call, killed_at)
    cdr = deployment.ended_call(first_id)
    assert cdr.outcome == "failed"
    assert all(leg.ended_at is not None for leg in cdr.legs)
    assert entry_state(deployment, first_id) == "abandoned"

    assert agents.set_own_state(deployment.db, agent, "available")
    ringing = streams[survivor.name].wait_for("agent.ringing", timeout=10)
    assert (ringing["call_id"], ringing["agent_id"]) == (second_id, agent)
    second.hangup(second_call)


def test_killed_mid_bridge_both_phones_are_hung_up_and_the_agent_is_free(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent_phone = registered_agent(deployment, edge, "1002", record=False)
    workers = start_workers(deployment, edge, 2)  # the survivor reaps the victim
    streams = {w.name: w.events() for w in workers}
    caller = deployment.phone("caller", record=False)
    call = caller.call(support_uri(edge.uri_host))
    caller.wait_for("state", call=call, state="confirmed")
    worker = worker_of(deployment, workers, only_call_id(deployment))
    bridged = streams[worker.name].wait_for("bridged", timeout=20)
    agent_call = agent_phone.wait_for("incoming")["call"]
    agent_phone.wait_for("state", call=agent_call, state="confirmed")
    agent_id = deployment.call(bridged["call_id"]).agent_id
    assert agent_id is not None
    on_call = AgentState.ON_CALL
    wait_until(lambda: deployment.agent_state(agent_id) == on_call, 5, "the agent is on the call")

    worker.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    hung_up_after_kill(caller, call, killed_at)
    agent_phone.wait_for("state", call=agent_call, state="disconnected", timeout=4)
    cdr = deployment.ended_call(bridged["call_id"])
    assert cdr.outcome == "failed"
    assert deployment.agent_state(agent_id) == AgentState.AVAILABLE
    assert entry_state(deployment, cdr.id) == "connected"


def test_killed_mid_ivr_the_caller_is_hung_up_and_the_cdr_failed(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    workers = start_workers(
        deployment, edge, 2, flow="telephony.callflow.ivr:IvrFlows", extra={"speech": False}
    )
    streams = {w.name: w.events() for w in workers}
    caller = deployment.phone("caller", record=False)
    call = caller.call(support_uri(edge.uri_host))
    caller.wait_for("state", call=call, state="confirmed")
    worker = worker_of(deployment, workers, only_call_id(deployment))
    prompt = streams[worker.name].wait_for("ivr.prompt", timeout=20, state="playing")
    # the worker writes the CDR behind the call: wait for its leg row, or a kill that comes
    # first leaves no leg for the reaper to close (what this test checks it does)
    wait_until(lambda: deployment.call(prompt["call_id"]).legs, 10, "the call's leg stored")

    worker.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    hung_up_after_kill(caller, call, killed_at)
    cdr = deployment.ended_call(prompt["call_id"])
    assert cdr.outcome == "failed"
    assert cdr.legs and all(leg.ended_at is not None for leg in cdr.legs)
