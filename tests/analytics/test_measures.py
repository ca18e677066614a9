"""The measures of scripted calls with known timing: talk, interruptions, silences, phrases."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.facts import AgentAction, CallFacts, MoodPoint, utterances_of
from analytics.measures import measure
from analytics.phrases import is_backchannel, phrases_for
from analytics.summary import summarise
from analytics.turns import AGENT, CALLER, Span, Utterance, silences


def facts(utterances: list[Utterance], **more: object) -> CallFacts:
    values: dict[str, object] = {
        "call_id": "c1", "locale": "en", "queue": "support", "agent_id": 1, "customer_id": 1,
        "started_at": datetime(2026, 1, 5, 9), "duration": 60.0, "answered": 0.5,
        "bridged": 10.0, "utterances": utterances,
    }
    values.update(more)
    return CallFacts(**values)  # type: ignore[arg-type]


SCRIPT = [
    Utterance(AGENT, 10.0, 14.0, "good morning how can I help you"),
    Utterance(CALLER, 14.5, 20.0, "my internet has been down since yesterday"),
    Utterance(AGENT, 19.0, 19.6, "okay"),  # a back-channel over the caller: not an interruption
    Utterance(AGENT, 24.0, 30.0, "I am sorry to hear that could you tell me your account"),
    Utterance(CALLER, 28.0, 33.0, "it is one two three four"),  # cuts the agent off
    Utterance(AGENT, 37.5, 40.0, "thank you I see the fault"),  # 4.5 s of silence before
    Utterance(AGENT, 44.0, 47.0, "could you tell me your account again please"),
    Utterance(CALLER, 46.0, 46.5, "mm"),  # a back-channel over the agent
]


def test_talk_times_ratio_and_non_talk_follow_the_script() -> None:
    got = measure(facts(SCRIPT))
    assert got.agent_talk_seconds == pytest.approx(4 + 0.6 + 6 + 2.5 + 3)
    assert got.caller_talk_seconds == pytest.approx(5.5 + 5 + 0.5)
    assert got.agent_talk_ratio == pytest.approx(16.1 / (16.1 + 11.0), abs=1e-3)
    # conversation 10..60 = 50 s; speech union: 10-14, 14.5-20, 24-33, 37.5-40, 44-47
    assert got.non_talk_seconds == pytest.approx(50 - (4 + 5.5 + 9 + 2.5 + 3))
    assert got.handle_seconds == 50.0 and got.seconds_to_human == 10.0


def test_interruptions_are_counted_exactly_and_back_channels_are_not_interruptions() -> None:
    got = measure(facts(SCRIPT))
    assert (got.caller_interruptions, got.agent_interruptions) == (1, 0)
    assert got.detail["interruptions"] == [
        {"by": CALLER, "over": AGENT, "at": 28.0, "text": "it is one two three four"}
    ]


def test_a_real_overtalk_by_the_agent_counts_for_the_agent() -> None:
    script = [Utterance(CALLER, 10, 16, "I want to cancel my contract"),
              Utterance(AGENT, 12, 15, "let me stop you there sir")]
    got = measure(facts(script))
    assert (got.caller_interruptions, got.agent_interruptions) == (0, 1)


def test_a_short_misheard_noise_over_the_other_side_is_not_an_interruption() -> None:
    script = [Utterance(AGENT, 10, 14, "let me look at your bill now"),
              Utterance(CALLER, 11.2, 11.74, "읍 네"),  # the recogniser's "음 네"
              Utterance(CALLER, 12.0, 13.5, "no wait")]  # two words, but 1.5 s: it is one
    got = measure(facts(script, locale="ko"))
    assert [cut["text"] for cut in got.detail["interruptions"]] == ["no wait"]


def test_silences_over_three_seconds_are_counted_exactly() -> None:
    got = measure(facts(SCRIPT))
    # gaps: 14-14.5, 20-24 (4 s), 33-37.5 (4.5 s), 40-44 (4 s); exactly 3 s would not count
    assert got.long_silences == 3
    assert got.detail["silences"] == [[20.0, 24.0], [33.0, 37.5], [40.0, 44.0]]
    assert got.longest_silence_seconds == 4.5
    exactly_three = [Utterance(AGENT, 0, 1, "a b"), Utterance(CALLER, 4, 5, "c d")]
    assert silences(exactly_three) == []


def test_a_hold_is_hold_time_not_silence() -> None:
    got = measure(facts(SCRIPT, holds=[Span(33.0, 37.0)]))
    assert got.hold_seconds == 4.0
    assert got.detail["silences"] == [[20.0, 24.0], [40.0, 44.0]]


def test_empathy_courtesy_and_the_repeated_request() -> None:
    got = measure(facts(SCRIPT))
    assert got.detail["empathy"] == ["i am sorry", "sorry to hear"]
    assert got.detail["courtesy"] == ["good morning", "thank you", "please"]
    assert (got.empathy_phrases, got.courtesy_phrases) == (2, 3)
    assert got.asked_twice == 1
    assert got.detail["asked_twice"] == ["could you tell me your account again please"]


def test_different_requests_are_not_asked_twice() -> None:
    script = [Utterance(AGENT, 10, 12, "can you hold for a moment"),
              Utterance(AGENT, 20, 22, "can you spell your surname")]
    assert measure(facts(script)).asked_twice == 0


def test_mood_trajectory_from_greeting_to_end() -> None:
    moods = [MoodPoint(0.0, -0.6, "upset"), MoodPoint(20.0, -0.2), MoodPoint(50.0, 0.4)]
    got = measure(facts(SCRIPT, moods=moods))
    assert (got.mood_start, got.mood_end) == (-0.6, 0.4)
    assert [p["score"] for p in got.detail["mood"]] == [-0.6, -0.2, 0.4]


def test_an_ivr_step_asked_twice_counts() -> None:
    got = measure(facts([], ivr_steps=["greeting", "account", "account", "route"], bridged=None))
    assert got.asked_twice == 1 and got.detail["asked_twice"] == ["IVR step account"]
    assert got.agent_talk_ratio is None and got.seconds_to_human is None


@pytest.mark.parametrize(("locale", "text", "expected"), [
    ("en", "okay", True), ("en", "mm yes", True), ("en", "okay but why", False),
    ("it", "sì", True), ("it-IT", "va bene", True), ("it", "no guardi", False),
    ("ko", "네", True), ("ko", "네 알겠습니다", True), ("ko", "요금이 이상해요", False),
])
def test_back_channels_per_locale(locale: str, text: str, expected: bool) -> None:
    assert is_backchannel(text, phrases_for(locale)) is expected


def test_transcript_entries_are_placed_on_the_call_timeline_by_their_wall_clock() -> None:
    origin = 1_000.0
    entries = [
        {"speaker": "agent", "text": "hello", "start": 30.0, "end": 31.5, "spoken_at": 1_012.0},
        {"speaker": "caller", "text": "hi", "start": 2.0, "end": 3.0, "spoken_at": 1_002.5},
        {"speaker": "caller", "text": "", "start": 5.0, "end": 6.0},
    ]
    assert utterances_of(entries, origin, 0.5) == [
        Utterance(CALLER, 2.5, 3.5, "hi"), Utterance(AGENT, 12.0, 13.5, "hello"),
    ]


def test_the_summary_takes_the_reason_and_what_the_agent_did() -> None:
    call = facts(SCRIPT, greeting="", wrap_up="resolved",
                 actions=[AgentAction("credit", "goodwill credit of 5.00 EUR: outage")])
    summary = summarise(call)
    assert summary.reason == "my internet has been down since yesterday"
    assert summary.text == (
        "Reason: my internet has been down since yesterday. "
        "Credit: goodwill credit of 5.00 EUR: outage. Wrap up: resolved."
    )
    greeted = summarise(facts([], greeting="I was charged twice this month", bridged=None))
    assert greeted.reason == "I was charged twice this month"
    assert greeted.text.endswith("No agent took the call.")
