"""Worker event streams: parsing, reconnecting, and who hears which event."""

from __future__ import annotations

import queue
import time
import uuid
from pathlib import Path

import pytest

from console.hub import SUPERVISORS, EventHub, agent_topic
from console.testing.fake_worker import TOKEN, FakeWorker
from console.worker_feed import EventRouter, WorkerFeed, read_events
from store import agents
from store.models import AgentState
from tests.console.conftest import copy_of


def test_read_events_parses_data_lines_and_skips_noise() -> None:
    raw = [
        b": hello\n",
        b"\n",
        b'data: {"type": "ringing",\n',
        b'data:  "call_id": "c1"}\n',
        b"\n",
        b"data: not json\n",
        b"\n",
        b"event: x\r\n",
        b'data: {"type": "ended"}\r\n',
        b"\r\n",
    ]
    assert list(read_events(iter(raw))) == [
        {"type": "ringing", "call_id": "c1"},
        {"type": "ended"},
    ]


def test_feed_reconnects_and_routes_events(tmp_path: Path, seeded_template) -> None:  # type: ignore[no-untyped-def]
    db, _ = copy_of(seeded_template, tmp_path / "feed.sqlite")
    hub = EventHub()
    alice_inbox = hub.subscribe(agent_topic(1))
    bruno_inbox = hub.subscribe(agent_topic(2))
    supervisors = hub.subscribe(SUPERVISORS)
    worker = FakeWorker().start()
    worker.register(db)
    feed = WorkerFeed(db, EventRouter(db, hub).handle, refresh_seconds=0.1, token=TOKEN)
    feed.start()
    try:
        assert worker.connected.wait(5)
        call_id = str(uuid.uuid4())
        worker.emit(
            {
                "type": "agent.ringing",
                "call_id": call_id,
                "agent_id": 1,
                "customer_id": 1,
                "call_data": {"mood": "calm"},
            }
        )
        name, pop = alice_inbox.get(timeout=5)
        assert name == "screenpop" and pop["customer"]["name"] == "Giulia Ferri"
        assert pop["ivr"]["mood"] == "calm"
        worker.drop_streams()
        assert worker.connected.wait(5), "the console did not reconnect"
        worker.emit(
            {"type": "transcript.final", "call_id": call_id, "speaker": "caller", "text": "hello"}
        )
        seen = [alice_inbox.get(timeout=5) for _ in range(2)]
        assert seen[0] == ("state", {"state": "ringing"})
        assert seen[1][0] == "transcript" and seen[1][1]["text"] == "hello"
        assert bruno_inbox.empty()
        kinds = [supervisors.get(timeout=5)[1]["type"] for _ in range(2)]
        assert kinds == ["agent.ringing", "transcript.final"]
    finally:
        feed.stop()
        worker.stop()
        db.dispose()
    assert isinstance(alice_inbox, queue.Queue)


def test_an_agent_who_misses_the_ring_is_told_and_loses_the_pop(  # type: ignore[no-untyped-def]
    tmp_path: Path, seeded_template
) -> None:
    db, _ = copy_of(seeded_template, tmp_path / "missed.sqlite")
    hub = EventHub()
    router = EventRouter(db, hub)
    inbox = hub.subscribe(agent_topic(1))
    call_id = str(uuid.uuid4())
    try:
        ringing = {"type": "agent.ringing", "call_id": call_id, "agent_id": 1, "customer_id": 1}
        router.handle(ringing, "w1", "http://127.0.0.1:9")
        missed = {"type": "agent.missed", "call_id": call_id, "agent_id": 1, "state": "not_ready"}
        router.handle(missed, "w1", "http://127.0.0.1:9")
        names = [inbox.get(timeout=1) for _ in range(4)]
        assert [name for name, _ in names] == ["screenpop", "state", "call", "state"]
        assert names[-1][1] == {"state": "not_ready"}
        assert hub.call(call_id) is None and hub.last_pop(1) is None
    finally:
        db.dispose()


def test_a_restarted_console_takes_back_the_calls_its_agents_are_on(  # type: ignore[no-untyped-def]
    tmp_path: Path, seeded_template
) -> None:
    """What a worker's ``GET /calls`` lists when the console's stream to it opens: a call an
    agent is on gives them their pop again (saying where the call is) and its later events;
    calls no agent has, and calls this console already follows, change nothing."""
    db, _ = copy_of(seeded_template, tmp_path / "relearn.sqlite")
    hub = EventHub()
    router = EventRouter(db, hub)
    inbox = hub.subscribe(agent_topic(1))
    talking, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    calls = [
        {"id": talking, "state": "bridged", "agent_id": 1, "caller": "+390212345",
         "call_data": {"customer_id": 1, "mood": "calm", "agent_reason": "returning caller"}},
        {"id": waiting, "state": "queued", "agent_id": None, "call_data": {}},
    ]  # fmt: skip
    try:
        router.relearn(calls, "w1", "http://127.0.0.1:9")
        (name, pop), state = inbox.get(timeout=1), inbox.get(timeout=1)
        assert name == "screenpop" and pop["call_id"] == talking
        assert pop["customer"]["name"] == "Giulia Ferri" and pop["call_state"] == "bridged"
        assert state == ("state", {"state": "on_call"})
        assert hub.call(talking) is not None and hub.call(waiting) is None
        assert hub.last_pop(1) == pop

        router.relearn(calls, "w1", "http://127.0.0.1:9")  # the stream only dropped
        assert inbox.empty()
        router.handle({"type": "hold", "call_id": talking}, "w1", "http://127.0.0.1:9")
        assert inbox.get(timeout=1)[0] == "call"
        assert (hub.last_pop(1) or {})["call_state"] == "hold"  # a reloaded desk says so
    finally:
        db.dispose()


def test_feed_sends_the_deployment_token_and_a_wrong_one_is_refused(  # type: ignore[no-untyped-def]
    tmp_path: Path, seeded_template
) -> None:
    db, _ = copy_of(seeded_template, tmp_path / "token.sqlite")
    worker = FakeWorker().start()
    worker.register(db)
    wrong = WorkerFeed(db, lambda *_: None, refresh_seconds=0.1, token="not-" + TOKEN)
    wrong.start()
    try:
        deadline = time.monotonic() + 5
        while not worker.refused and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the fake worker's record of refusals, with a deadline
        assert worker.refused and worker.refused[0] == "/events"
        assert not worker.connected.is_set()
    finally:
        wrong.stop()
    right = WorkerFeed(db, lambda *_: None, refresh_seconds=0.1, token=TOKEN)
    right.start()
    try:
        assert worker.connected.wait(5)
    finally:
        right.stop()
        worker.stop()
        db.dispose()


@pytest.mark.parametrize("moved_to", ["available", None, "wrap_up"])
def test_ended_tells_the_desk_the_workers_move_and_writes_nothing(  # type: ignore[no-untyped-def]
    moved_to: str | None, tmp_path: Path, seeded_template
) -> None:
    """*moved_to* is the worker's ``agent_state``: the desk shows it (none: nothing to show)."""
    db = copy_of(seeded_template, tmp_path / "ended.sqlite")[0]
    events = EventHub()
    desk = events.subscribe(agent_topic(1))
    assert agents.set_own_state(db, 1, "available") and agents.claim(db, 1, "c-9")
    for event in (
        {"type": "agent.ringing", "call_id": "c-9", "agent_id": 1},
        {"type": "ended", "call_id": "c-9", "agent_id": 1, "agent_state": moved_to},
    ):
        EventRouter(db, events).handle(event, "w1", "http://127.0.0.1:9")
    shown = [desk.get(timeout=1)[0] for _ in range(3)]
    assert shown == ["screenpop", "state", "call"]
    if moved_to is None:
        assert desk.empty()
    else:
        assert desk.get(timeout=1) == ("state", {"state": moved_to})
    assert agents.state_of(db, 1) is AgentState.RINGING  # the worker moves agents, not we
    db.dispose()
