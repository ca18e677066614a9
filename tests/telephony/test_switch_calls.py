"""A worker answers the support number, greets, bridges to an agent; hang-up, CDR, capacity, 503."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ivr.prompts import render_prompt
from store.models import AgentState
from telephony.testing.audio import correlation_peak, recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e

GREETING = "Hello, thank you for calling Centralino. How are you today?"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


@pytest.mark.parametrize("who_hangs_up", ["caller", "agent"])
def test_caller_hears_greeting_is_bridged_to_agent_and_cdr_is_complete(
    deployment: Deployment, who_hangs_up: str
) -> None:
    agent_id = deployment.add_agent("1001")
    agent = deployment.phone("agent", auto_answer=True)
    worker = deployment.worker(1, deployment.config(agent_uris={"1001": agent.uri}))
    events = worker.events()
    caller = deployment.phone("caller")

    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    caller.wait_for("state", call=call, state="confirmed")
    answered = events.wait_for("answered")
    call_id = answered["call_id"]
    ringing = events.wait_for("agent.ringing", timeout=15)
    assert ringing["agent_id"] == agent_id and ringing["call_id"] == call_id
    assert "customer_id" in ringing and "call_data" in ringing
    events.wait_for("bridged", timeout=10)
    agent_call = agent.wait_for("incoming")["call"]
    agent.wait_for("state", call=agent_call, state="confirmed")

    agent.tone(agent_call, 1000)
    let_audio_flow(0.8)
    agent.silence(agent_call)
    caller.tone(call, 1000)
    let_audio_flow(0.8)

    if who_hangs_up == "caller":
        caller.hangup(call)
        agent.wait_for("state", call=agent_call, state="disconnected")
    else:
        agent.hangup(agent_call)
        caller.wait_for("state", call=call, state="disconnected")
    ended = events.wait_for("ended")
    assert ended["call_id"] == call_id

    heard_by_caller = recording(caller.wait_for("recorded", call=call)["path"])
    heard_by_agent = recording(agent.wait_for("recorded", call=agent_call)["path"])
    prompt = recording(render_prompt(GREETING, "en", deployment.root / "prompts", 8000))
    peak, lag = correlation_peak(heard_by_caller, prompt)
    # The jitter buffer may add or drop a 20 ms frame, which caps the whole-prompt figure;
    # half-second pieces of the prompt must each be found clearly.
    pieces = [
        correlation_peak(heard_by_caller, prompt[s : s + 4000])[0]
        for s in range(0, len(prompt) - 4000, 4000)
    ]
    assert peak > 0.45, f"greeting correlation {peak:.2f} at lag {lag}"  # silence gives ~0
    assert float(np.median(pieces)) > 0.8, f"greeting pieces correlate {pieces}"
    assert tone_share(heard_by_caller[lag + len(prompt) :], 1000) > 0.5
    assert tone_share(heard_by_agent, 1000) > 0.5

    cdr = deployment.ended_call(call_id)
    assert cdr.outcome == "completed"
    assert cdr.agent_id == agent_id
    assert cdr.started_at <= cdr.answered_at <= cdr.bridged_at <= cdr.ended_at  # type: ignore[operator]
    roles = {leg.role: leg for leg in cdr.legs}
    assert set(roles) == {"customer", "agent"}
    for leg in cdr.legs:
        assert leg.answered_at is not None and leg.ended_at is not None, leg.role
        assert leg.started_at <= leg.answered_at <= leg.ended_at
    assert roles["agent"].answered_at >= roles["customer"].answered_at  # type: ignore[operator]
    wait_until(
        lambda: deployment.agent_state(agent_id) == AgentState.WRAP_UP, 5, "agent in wrap-up"
    )


def test_capacity_is_read_from_the_library_and_a_call_beyond_it_gets_503(
    deployment: Deployment,
) -> None:
    worker = deployment.worker(1, deployment.config())
    health = worker.get("/health")
    assert health["library_max_calls"] == 4  # the PyPI wheel's PJSUA_MAX_CALLS, measured
    capacity = health["capacity"]
    assert capacity == health["library_max_calls"] - 1  # one slot kept to answer 503
    callers = [deployment.phone(f"caller{n}", record=False) for n in range(capacity + 1)]
    target = f"sip:{SUPPORT}@{worker.sip_uri_host}"
    for phone in callers[:capacity]:
        phone.wait_for("state", call=phone.call(target), state="confirmed")
    wait_until(lambda: worker.get("/health")["load"] == capacity, 5, "all legs counted")

    extra = callers[capacity]
    disconnected = extra.wait_for("state", call=extra.call(target), state="disconnected")
    assert disconnected["code"] == 503

    for phone in callers[:capacity]:
        phone.hangup(1)
    wait_until(lambda: worker.get("/health")["load"] == 0, 5, "legs freed")
    again = extra.call(target)
    extra.wait_for("state", call=again, state="confirmed")
    extra.hangup(again)


def test_sigterm_leaves_the_dispatcher_and_closes_live_calls(deployment: Deployment) -> None:
    worker = deployment.worker(1, deployment.config())
    assert deployment.dispatcher_destinations() == [f"sip:{worker.sip_uri_host}"]
    caller = deployment.phone("caller", record=False)
    events = worker.events()
    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    call_id = events.wait_for("answered")["call_id"]

    assert worker.stop() == 0
    caller.wait_for("state", call=call, state="disconnected")
    assert deployment.ended_call(call_id).outcome == "worker shutdown"
    assert deployment.dispatcher_destinations() == []
    assert deployment.worker_row(worker.name).alive is False
