"""Analytics of a real call: Kamailio, a switch worker with the IVR, the speech service with the
Korean model, and espeak-ng speech on both phones along one scripted timeline (an overlap, a
long pause, short gaps). Once the caller hangs up, the worker stores the call's analytics and
summary; the talk ratio is the script's within 5 points, the agent's one cut-off and the one
silence over 3 s are counted exactly.

The script's timing is measured on the audio itself (20 ms frames above a level), not taken
from what the recogniser heard: espeak-ng Korean is heard loosely (docs: FACTS), but where the
words are in time is what the analysis needs.
"""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from analytics.turns import Span, union
from ivr.prompts import render_prompt, write_wav
from store.analytics_tables import CallAnalytics, CallSummary
from telephony.testing.workers import wait_until
from tests.telephony.test_ivr_calls import Scene, end_calls, ivr_scene

pytestmark = [pytest.mark.e2e]
RATE = 8000
FRAME = RATE // 50  # 20 ms

#: (side, second it starts at, what is said): the agent cuts the caller off at 5.0 s, then
#: nobody speaks for about 4 s, then short turns with gaps under 3 s.
SCRIPT = [
    ("agent", 0.0, "안녕하세요 고객님 무엇을 도와드릴까요"),
    ("caller", 1.2, "음 네"),  # a back-channel over the agent
    ("caller", 3.6, "요금이 너무 많이 나왔어요 확인해 주세요"),
    ("agent", 5.2, "잠시만요 제가 바로 확인하겠습니다"),
    ("caller", 12.5, "네 감사합니다 정말 고맙습니다"),
    ("agent", 16.0, "좋은 하루 되세요"),
]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with ivr_scene(tmp_path_factory.mktemp("analytics-calls")) as built:
        yield built


@pytest.fixture(autouse=True)
def calls_end(scene: Scene) -> Iterator[None]:
    yield
    end_calls(scene)


def voiced_spans(samples: np.ndarray, gap: float = 0.4) -> list[Span]:
    """Where the audio has speech: 20 ms frames above -40 dBFS, gaps under *gap* s closed."""
    frames = samples[: len(samples) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    loud = np.sqrt((frames**2).mean(axis=1)) > 32768 * 10 ** (-40 / 20)
    spans = [Span(i / 50, (i + 1) / 50) for i in np.flatnonzero(loud)]
    closed = union(Span(s.start, s.end + gap) for s in spans)
    return [Span(s.start, s.end - gap) for s in closed]


def scripted_sides(root: Path) -> tuple[dict[str, Path], dict[str, list[Span]]]:
    """One WAV per side with its lines at their seconds, and where each side really speaks."""
    length = int(RATE * 22)
    tracks = {"agent": np.zeros(length, np.int16), "caller": np.zeros(length, np.int16)}
    for side, at, text in SCRIPT:
        wav = render_prompt(text, "ko", root / "script-voices", RATE)
        with wave.open(str(wav)) as reader:
            said = np.frombuffer(reader.readframes(reader.getnframes()), np.int16)
        start = int(at * RATE)
        tracks[side][start : start + len(said)] = said[: length - start]
    paths = {side: write_wav(root / f"script-{side}.wav", track, RATE)
             for side, track in tracks.items()}
    return paths, {side: voiced_spans(track) for side, track in tracks.items()}


def test_a_real_calls_analytics_follow_the_script(scene: Scene) -> None:
    paths, truth = scripted_sides(scene.root)
    expected_agent = sum(s.seconds for s in truth["agent"])
    expected_caller = sum(s.seconds for s in truth["caller"])
    # the script as written: the agent's second line starts inside the caller's first line
    assert truth["caller"][1].start < truth["agent"][1].start < truth["caller"][1].end
    rings = len(scene.agent.seen("incoming"))
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, "0")
    scene.at_agent(call_id)
    agent_call = scene.agent.incoming_after(rings)
    scene.agent.wait_for("state", call=agent_call, state="confirmed")
    scene.agent.play(agent_call, paths["agent"])
    phone.play(call, paths["caller"])
    wait_until(  # the last line of each side heard (the recogniser's finals come at pauses)
        lambda: len([e for e in scene.seen("transcript.final", call_id)
                     if e["speaker"] == "agent"]) >= 3, 45, "the agent's three lines")
    wait_until(lambda: len([e for e in scene.seen("transcript.final", call_id)
                            if e["speaker"] == "caller"]) >= 3, 20, "the caller's three lines")
    scene.hang_up(phone, call, call_id)
    hung_up = time.monotonic()
    row = wait_until(lambda: _stored(scene, call_id), 30, "the call's analytics stored")
    print(f"hang-up to analytics stored: {time.monotonic() - hung_up:.2f} s")
    lines = [(e["speaker"], e["start"], e["end"], e["text"])
             for e in scene.deployment.call(call_id).transcript]
    why = f"lines={lines} truth={truth} detail={row.detail}"
    expected_ratio = expected_agent / (expected_agent + expected_caller)
    assert row.agent_talk_ratio is not None, why
    assert abs(row.agent_talk_ratio - expected_ratio) <= 0.05, why
    # the caller's back-channel over the agent's first line was heard, and is no interruption
    heard = [text for speaker, _start, _end, text in lines if speaker == "caller"]
    assert len(heard) == 3 and len(heard[0].split()) <= 2, why  # the back-channel, heard
    assert (row.agent_interruptions, row.caller_interruptions) == (1, 0), why
    assert row.long_silences == 1, why
    gap = truth["caller"][2].start - truth["agent"][1].end
    assert abs(row.longest_silence_seconds - gap) < 1.0, why
    assert row.seconds_to_human is not None and row.seconds_to_human > 0
    with scene.deployment.db.session() as session:
        summary = session.get(CallSummary, call_id)
        assert summary is not None and summary.text.startswith("Reason: ")


def _stored(scene: Scene, call_id: str) -> CallAnalytics | None:
    with scene.deployment.db.session() as session:
        row = session.get(CallAnalytics, call_id)
        if row is not None:
            session.expunge(row)
        return row
