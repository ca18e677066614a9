"""The worker's floor watch on a real store and event bus, fed the events a call publishes:
lines and moods stored, alerts stored and published, thresholds and phrases read from the
store (edits reach live calls), the agent's voice from their leg's audio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from store.db import Database
from store.migrate import upgrade
from store.models import Agent, SupportNumber
from store.supervision import AlertRow, AlertRule, TranscriptLine, WatchedPhrase
from telephony.events import EventBus
from telephony.floorwatch import FloorWatch
from telephony.tap import IN, TapFrame

CALM = {
    "speech_seconds": 1.5,
    "f0_median_hz": 110.0,
    "f0_spread_semitones": 2.0,
    "level_dbfs": -28.0,
    "syllables_per_second": 4.0,
    "voiced_fraction": 0.6,
}
RAISED = {**CALM, "f0_median_hz": 110.0 * 2 ** (4 / 12), "level_dbfs": -19.0}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'floor.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        session.add(SupportNumber(number="800", name="Support", locale="ko", queue="support"))
        session.add(Agent(id=7, name="Alice", username="alice", password_hash="-"))
    yield db
    db.dispose()


def call_starts(watch: FloorWatch, call_id: str = "c1") -> None:
    watch.handle({"type": "ringing", "call_id": call_id, "caller": "sip:1@x", "dialled": "800"})
    watch.handle({"type": "answered", "call_id": call_id, "role": "customer"})


def said(watch: FloorWatch, text: str, speaker: str = "caller", call_id: str = "c1") -> None:
    watch.handle(
        {
            "type": "transcript.final",
            "call_id": call_id,
            "speaker": speaker,
            "text": text,
            "spoken_at": watch.clock(),
        }
    )


def alerts(db: Database) -> list[tuple[str, list[str]]]:
    with db.session() as session:
        return [(a.kind, a.words) for a in session.scalars(select(AlertRow).order_by(AlertRow.id))]


def test_a_watched_korean_phrase_is_stored_and_published(store: Database) -> None:
    bus = EventBus("switch-1")
    published = bus.subscribe()
    watch = FloorWatch(store, bus, Clock())
    call_starts(watch)
    said(watch, "계약을 해지하고 싶어요")
    assert alerts(store) == [("topic", ["해지하고"])]
    kinds = []
    while (event := published.get(0.01)) is not None:
        kinds.append(event["type"])
    assert kinds == ["alert"]
    with store.session() as session:
        line = session.scalars(select(TranscriptLine)).one()
    assert (line.call_id, line.speaker, line.mood) == ("c1", "caller", "neutral")


def test_upset_against_the_greeting_answer_and_moods_stored(store: Database) -> None:
    clock = Clock()
    watch = FloorWatch(store, EventBus("switch-1"), clock)
    call_starts(watch)
    watch.handle({"type": "ivr.voice", "call_id": "c1", "state": "started"})
    watch.handle({"type": "ivr.voice", "call_id": "c1", "state": "ended", "utterance": CALM})
    said(watch, "네 안녕하세요")
    clock.now += 30
    watch.handle({"type": "ivr.voice", "call_id": "c1", "state": "ended", "utterance": RAISED})
    said(watch, "네")
    assert [kind for kind, _ in alerts(store)] == ["upset"]
    with store.session() as session:
        moods = session.scalars(select(TranscriptLine.mood).order_by(TranscriptLine.id)).all()
    assert moods == ["neutral", "upset"]


def test_thresholds_and_phrases_are_data_and_edits_reach_a_live_call(store: Database) -> None:
    clock = Clock()
    with store.session() as session:
        session.add(AlertRule(queue="*", rule="silence", enabled=True, params={"seconds": 5}))
        session.add(AlertRule(queue="support", rule="topic", enabled=False, params={}))
    watch = FloorWatch(store, EventBus("switch-1"), clock)
    call_starts(watch)
    said(watch, "해지")
    assert alerts(store) == []  # topic alerts are off in this queue
    watch.handle({"type": "bridged", "call_id": "c1", "legs": ["c1/0", "c1/1"], "agent_id": 7})
    clock.now += 6
    watch.tick()
    assert [kind for kind, _ in alerts(store)] == ["silence"]
    with store.session() as session:
        session.query(AlertRule).filter_by(rule="topic").delete()
        session.add(WatchedPhrase(locale="ko", phrase="사장님"))
    clock.now += 6
    watch.tick()  # re-reads the store
    said(watch, "사장님 바꿔 주세요")
    assert ("topic", ["사장님"]) in alerts(store)


def test_the_agents_leg_audio_and_the_callers_voice_make_overtalk(store: Database) -> None:
    clock = Clock()
    watch = FloorWatch(store, EventBus("switch-1"), clock)
    call_starts(watch)
    watch.handle({"type": "bridged", "call_id": "c1", "legs": ["c1/0", "c1/1"], "agent_id": 7})
    watch.handle({"type": "ivr.voice", "call_id": "c1", "state": "started"})
    loud = (8000 * np.sin(np.arange(160) * 0.3)).astype(np.int16)
    for seq in range(10):
        watch.frame(TapFrame("c1/1", IN, seq, loud, 8000, clock.now))
    clock.now += 3
    watch.tick()
    assert [kind for kind, _ in alerts(store)] == ["overtalk"]
    with store.session() as session:
        assert session.scalars(select(AlertRow.agent_id)).one() == 7


def test_an_ended_call_is_forgotten(store: Database) -> None:
    watch = FloorWatch(store, EventBus("switch-1"), Clock())
    call_starts(watch)
    watch.handle({"type": "ended", "call_id": "c1"})
    assert watch.calls == {}
    said(watch, "해지")
    assert alerts(store) == []
