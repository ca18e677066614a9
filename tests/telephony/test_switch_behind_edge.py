"""Workers behind the Kamailio edge: registered agents, failover, a worker killed mid-call."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from telephony.callflow import busy
from telephony.edge import EdgeError
from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.phones import Phone
from telephony.testing.workers import WorkerProcess, wait_until

pytestmark = pytest.mark.e2e


def start_workers(deployment: Deployment, edge: EdgeUnderTest, count: int) -> list[WorkerProcess]:
    config = deployment.config(
        edge=edge.address,
        switch=edge.switch_address,
        sip_domain=edge.settings.sip_domain,
        heartbeat_seconds=0.5,
        stale_after_seconds=2.0,
    )
    workers = deployment.start_workers(count, config)
    want = [f"sip:{w.sip_uri_host}" for w in workers]
    wait_until(lambda: kamailio_has(edge, want), 12, "Kamailio has every worker", interval=0.5)
    return workers


def kamailio_has(edge: EdgeUnderTest, destinations: list[str]) -> bool:
    """Whether Kamailio itself (not only the edge's list file) routes to *destinations*."""
    try:
        loaded = edge.edge.rpc("dispatcher.list")
    except EdgeError:  # the control socket is not there yet
        return False
    return all(uri in loaded for uri in destinations)


def registered_agent(
    deployment: Deployment, edge: EdgeUnderTest, extension: str, **phone_options: Any
) -> Phone:
    """An agent with a device at the edge and an auto-answering phone registered as it;
    *phone_options* go to `Deployment.phone` (e.g. ``record=False``, ``address=``)."""
    password = edge.add_device(extension)
    deployment.add_agent(extension)
    phone = deployment.phone(f"agent{extension}", auto_answer=True, **phone_options)
    registration = phone.register(
        edge.uri_host, extension, password, domain=edge.settings.sip_domain
    )
    assert registration["code"] == 200, registration
    return phone


def support_uri(edge: EdgeUnderTest) -> str:
    return f"sip:{SUPPORT}@{edge.uri_host}"


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def test_caller_reaches_a_registered_agent_through_the_edge(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    agent = registered_agent(deployment, edge, "1001")
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    call_id = events.wait_for("agent.ringing", timeout=15)["call_id"]
    events.wait_for("bridged", timeout=10)
    agent_call = agent.wait_for("incoming")["call"]
    agent.wait_for("state", call=agent_call, state="confirmed")
    agent.tone(agent_call, 1000)
    caller.tone(call, 1500)
    let_audio_flow(0.8)
    agent.hangup(agent_call)
    caller.wait_for("state", call=call, state="disconnected")
    assert tone_share(recording(caller.wait_for("recorded", call=call)["path"]), 1000) > 0.5
    assert tone_share(recording(agent.wait_for("recorded", call=agent_call)["path"]), 1500) > 0.5
    cdr = deployment.ended_call(call_id)
    assert cdr.outcome == "completed"
    assert [leg.role for leg in cdr.legs] == ["customer", "agent"]


def test_five_simultaneous_callers_on_two_workers_are_all_answered(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    workers = start_workers(deployment, edge, 2)
    capacity = sum(w.get("/health")["capacity"] for w in workers)
    assert capacity >= 5
    phones = [deployment.phone(f"caller{n}", record=False) for n in range(2)]
    calls = [(phone, phone.call(support_uri(edge))) for phone in (*phones[:1] * 3, *phones[1:] * 2)]
    for phone, call in calls:
        phone.wait_for("state", call=call, state="confirmed", timeout=15)
    loads = [w.get("/health")["load"] for w in workers]
    assert sum(loads) == 5 and max(loads) <= workers[0].get("/health")["capacity"], loads
    # Fill what is left, then one more than both can take hears "all our lines are busy" from a
    # worker's spare slot (`telephony.callflow.busy`): a SIP 503 from the first worker tried,
    # the message from the last, never silence. (Two workers hold 6: five alone never filled
    # them, so this branch used to be dead.)
    filler = deployment.phone("filler", record=False)
    fills = [filler.call(support_uri(edge)) for _ in range(capacity - 5)]
    for call in fills:
        filler.wait_for("state", call=call, state="confirmed", timeout=15)
    wait_until(lambda: sum(w.get("/health")["load"] for w in workers) == capacity, 5, "full")
    extra = phones[1].call(support_uri(edge))
    phones[1].wait_for("state", call=extra, state="confirmed", timeout=15)
    phones[1].wait_for("state", call=extra, state="disconnected", timeout=20)
    assert sum(w.get("/health")["rejected"] for w in workers) == 1
    busy_cdrs = wait_until(
        lambda: [c for c in deployment.calls() if c.outcome == busy.REASON], 5, "a busy CDR"
    )
    assert len(busy_cdrs) == 1
    for phone, call in calls:
        phone.hangup(call)
    for call in fills:
        filler.hangup(call)
    wait_until(
        lambda: len([c for c in deployment.calls() if c.answered_at and c.ended_at])
        == capacity + 1,
        5,
        "every answered CDR closed (the busy one too)",
    )


def test_failover_when_a_worker_is_full(edge: EdgeUnderTest, deployment: Deployment) -> None:
    first, second = start_workers(deployment, edge, 2)
    capacity = first.get("/health")["capacity"]
    direct = deployment.phone("direct", record=False)
    for _ in range(capacity):  # fill the first worker behind the edge's back
        direct.wait_for(
            "state", call=direct.call(f"sip:{SUPPORT}@{first.sip_uri_host}"), state="confirmed"
        )
    caller = deployment.phone("caller", record=False)
    for _ in range(2):  # round robin sends one of these to the full worker: it answers 503
        caller.wait_for("state", call=caller.call(support_uri(edge)), state="confirmed")
    assert first.get("/health")["rejected"] >= 1
    wait_until(lambda: second.get("/health")["load"] == 2, 5, "both calls on the second worker")


def test_killed_worker_calls_are_closed_as_failed_and_new_calls_go_to_the_survivor(
    edge: EdgeUnderTest, deployment: Deployment
) -> None:
    workers = start_workers(deployment, edge, 2)
    streams = {w.name: w.events() for w in workers}
    caller = deployment.phone("caller", record=False)
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed")
    (call_id,) = [c.id for c in wait_until(deployment.calls, 5, "the CDR is written")]
    victim_row = deployment.call(call_id).worker_id
    victim = next(w for w in workers if deployment.worker_row(w.name).id == victim_row)
    survivor = next(w for w in workers if w is not victim)
    streams[victim.name].wait_for("answered")

    victim.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    cdr = wait_until(
        lambda: (c := deployment.call(call_id)).ended_at is not None and c, 10, "CDR closed"
    )
    assert cdr.outcome == "failed"
    assert time.monotonic() - killed_at < 6
    assert all(leg.ended_at is not None for leg in cdr.legs)
    assert deployment.worker_row(victim.name).alive is False
    wait_until(
        lambda: edge.edge.destinations == [f"sip:{survivor.sip_uri_host}"], 10, "edge drops it"
    )

    again = caller.call(support_uri(edge))
    caller.wait_for("state", call=again, state="confirmed")
    streams[survivor.name].wait_for("answered")
    caller.hangup(again)
    caller.wait_for("state", call=call, state="disconnected")  # the edge hung the dead call up
