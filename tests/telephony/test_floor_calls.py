"""The floor's alerts on real calls: Kamailio, a switch worker with the IVR, the speech service
with the Korean model, test phones. A call shows on the floor from the IVR to the agent; a
watched phrase said by the caller raises a stored topic alert naming it; a caller whose voice
rises in pitch and level against their greeting answer raises an upset alert.

espeak-ng Korean is heard only loosely by the model (docs: FACTS), so the topic test watches a
word the model does hear in this rendering: the formal ending 니다 of 감사합니다/좋습니다, a
word of its own in the recogniser's output. What is proved is the path: what the caller says
-> recogniser -> the worker's floor watch with the phrase list read from the store -> alert.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from console.supervisor import floor
from store.supervision import AlertRow, WatchedPhrase
from telephony.testing.workers import wait_until
from tests.telephony.test_ivr_calls import Scene, end_calls, ivr_scene

pytestmark = [pytest.mark.e2e]
WATCHED = "니다"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with ivr_scene(tmp_path_factory.mktemp("floor-calls")) as built:
        yield built


@pytest.fixture(autouse=True)
def calls_end(scene: Scene) -> Iterator[None]:
    yield
    end_calls(scene)


def on_floor(scene: Scene, call_id: str) -> dict | None:
    with scene.deployment.db.session() as session:
        calls = floor.snapshot(session)["calls"]
    return next((call for call in calls if call["id"] == call_id), None)


def stored_alerts(scene: Scene, call_id: str, kind: str) -> list[AlertRow]:
    with scene.deployment.db.session() as session:
        rows = session.scalars(
            select(AlertRow).where(AlertRow.call_id == call_id, AlertRow.kind == kind)
        ).all()
        session.expunge_all()
        return list(rows)


def alert_event(scene: Scene, call_id: str, kind: str, timeout: float = 40.0) -> dict:
    """The worker's ``alert`` event of *kind* on the call (its ``kind`` field names the rule)."""
    return wait_until(
        lambda: next((e for e in scene.seen("alert", call_id) if e["kind"] == kind), None),
        timeout,
        f"a {kind} alert",
    )


def voice(scene: Scene, name: str, text: str, pitch: int, gain_db: float) -> Path:
    """espeak-ng at *pitch* (0-99), then *gain_db* by sox, at 8 kHz."""
    raw, out = scene.root / f"{name}-raw.wav", scene.root / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-p", str(pitch), "-w", str(raw), text], check=True)
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            str(out),
            "gain",
            str(gain_db),
            "pad",
            "0",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    return out


def test_a_call_is_on_the_floor_from_the_ivr_to_the_agent_and_a_watched_phrase_alerts(
    scene: Scene,
) -> None:
    with scene.deployment.db.session() as session:
        if not session.scalars(select(WatchedPhrase).where(WatchedPhrase.phrase == WATCHED)).all():
            session.add(WatchedPhrase(locale="ko", phrase=WATCHED))
    phone, call, call_id = scene.dial()
    seen = wait_until(lambda: on_floor(scene, call_id), 10, "the call on the floor")
    assert seen["state"] in ("ringing", "ivr") and seen["agent"] is None
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, "0")
    scene.at_agent(call_id)
    bridged = wait_until(
        lambda: (c := on_floor(scene, call_id)) and c["state"] == "bridged" and c, 10, "bridged"
    )
    assert bridged["agent"] and bridged["queue"]
    phone.play(call, scene.answer_wav)
    alert = alert_event(scene, call_id, "topic")
    assert WATCHED in alert["reason"] and any(w.startswith(WATCHED) for w in alert["words"])
    (row,) = stored_alerts(scene, call_id, "topic")
    assert row.detail["phrase"] == WATCHED and row.queue == bridged["queue"]
    lines = wait_until(lambda: (c := on_floor(scene, call_id)) and c["lines"], 10, "lines")
    assert lines[-1]["speaker"] == "caller" and lines[-1]["text"]
    scene.hang_up(phone, call, call_id)
    wait_until(lambda: on_floor(scene, call_id) is None, 10, "the call left the floor")


def test_a_voice_raised_against_the_greeting_answer_is_an_upset_alert(scene: Scene) -> None:
    text = "네. 오늘 전화 드렸습니다."
    calm = voice(scene, "calm", text, pitch=35, gain_db=-14)
    raised = voice(scene, "raised", text, pitch=95, gain_db=-3)
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=25)
    phone.play(call, calm)  # the greeting's answer: the caller's baseline
    scene.wait("ivr.step", call_id, step="identify")
    assert stored_alerts(scene, call_id, "upset") == []
    phone.dtmf(call, "0")
    scene.at_agent(call_id)
    phone.play(call, raised)
    alert = alert_event(scene, call_id, "upset")
    (row,) = stored_alerts(scene, call_id, "upset")
    assert row.id == alert["id"] and row.detail["mood"]["arousal"] > 0
    assert (c := on_floor(scene, call_id)) is not None and c["mood"] == "upset"
    scene.hang_up(phone, call, call_id)
