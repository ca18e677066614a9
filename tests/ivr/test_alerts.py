"""The alert rules on their own: phrases per locale, upset against the caller's own baseline,
silence, hold, overtalk and long calls on a scripted clock, thresholds as data."""

from __future__ import annotations

import pytest

from ivr.alerts import RULES, defaults
from ivr.alerts.phrases import found
from ivr.alerts.watch import CallWatch, WatchConfig

CALM = {
    "speech_seconds": 1.6,
    "f0_median_hz": 120.0,
    "f0_spread_semitones": 2.0,
    "level_dbfs": -26.0,
    "syllables_per_second": 4.0,
    "voiced_fraction": 0.6,
}
RAISED = {**CALM, "f0_median_hz": 120.0 * 2 ** (4 / 12), "level_dbfs": -18.0}


def kinds(alerts: list) -> list[str]:
    return [alert.kind for alert in alerts]


@pytest.mark.parametrize(
    ("locale", "phrase", "text", "said"),
    [
        ("en", "cancel", "I want to Cancel my plan", "cancel"),
        ("en", "cancel", "they cancelled it twice", "cancelled"),
        ("en", "cancel", "I keep cancelling", "cancelling"),
        ("en", "talk to a lawyer", "I will talk  to a lawyer now", "talk  to a lawyer"),
        ("it", "reclamo", "voglio fare due reclami", "reclami"),
        ("ko", "해지", "계약을 해지하고 싶어요", "해지하고"),
        ("ko", "해지", "해지를 원합니다", "해지를"),
    ],
)
def test_a_watched_phrase_is_found_in_its_locale_forms(locale, phrase, text, said):
    assert found(text, [phrase], locale) == [(phrase, said)]


@pytest.mark.parametrize(
    ("locale", "phrase", "text"),
    [
        ("en", "cancel", "what about the cancellation fee"),  # another word
        ("en", "cancel", "precancel"),
        ("en", "law", "my lawyer"),
        ("it", "reclamo", "reclamazione"),
        ("ko", "해지", "자동해지"),  # inside a word, not at its start
        ("xx", "cancel", "cancelled"),  # unknown locale: whole words only
    ],
)
def test_a_phrase_inside_another_word_is_not_found(locale, phrase, text):
    assert found(text, [phrase], locale) == []


def watch(locale: str = "en", phrases: tuple[str, ...] = (), **layers) -> CallWatch:
    config = WatchConfig.build([layers], phrases) if layers else WatchConfig.build([], phrases)
    return CallWatch(locale, 1000.0, config)


def test_topic_alert_names_the_phrase_and_the_words_once_per_speaker():
    call = watch(phrases=("cancel", "lawyer"))
    _mood, alerts = call.heard("caller", "I want to cancel, or my lawyer calls", 1001.0)
    assert sorted((a.kind, a.detail["phrase"], a.words) for a in alerts) == [
        ("topic", "cancel", ("cancel",)),
        ("topic", "lawyer", ("lawyer",)),
    ]
    assert "cancel" in alerts[0].reason or "cancel" in alerts[1].reason
    assert call.heard("caller", "cancel it now", 1002.0)[1] == []  # once per call and speaker
    assert kinds(call.heard("agent", "you want to cancel?", 1003.0)[1]) == ["topic"]


def test_the_first_utterance_is_the_baseline_and_a_raised_voice_later_is_upset():
    call = watch(locale="ko")
    call.utterance(RAISED, 1001.0)  # loud from the start: that is just how this caller talks
    mood, alerts = call.heard("caller", "네 안녕하세요", 1001.1)
    assert mood is not None and mood.arousal is None and alerts == []
    call.utterance(RAISED, 1005.0)
    assert call.heard("caller", "네", 1005.1)[1] == []  # same voice as the baseline: not upset
    calm = watch(locale="ko")
    calm.utterance(CALM, 1001.0)
    calm.heard("caller", "네 안녕하세요", 1001.1)
    calm.utterance(RAISED, 1010.0)
    mood, alerts = calm.heard("caller", "네", 1010.1)
    assert kinds(alerts) == ["upset"] and mood is not None and mood.label == "upset"
    assert alerts[0].detail["mood"]["arousal"] > 0.4
    calm.utterance(RAISED, 1020.0)
    assert calm.heard("caller", "네", 1020.1)[1] == []  # cooldown
    calm.utterance(RAISED, 1080.0)
    assert kinds(calm.heard("caller", "네", 1080.1)[1]) == ["upset"]


def test_a_final_that_arrives_before_its_utterance_is_judged_again_with_its_voice():
    call = watch(locale="ko")
    call.heard("caller", "네 안녕하세요", 1000.9)  # finals come at the pause, before the end
    assert call.utterance(CALM, 1001.0) == (None, [])  # the baseline, whatever came first
    mood, alerts = call.heard("caller", "네", 1009.9)
    assert alerts == [] and mood is not None and mood.arousal is None  # its voice not yet known
    mood, alerts = call.utterance(RAISED, 1010.0)
    assert kinds(alerts) == ["upset"] and mood is not None and mood.label == "upset"
    assert alerts[0].detail["text"] == "네"
    late = watch(locale="ko")
    late.utterance(CALM, 1001.0)
    late.heard("caller", "네", 1001.1)
    late.heard("caller", "네", 1010.0)
    assert late.utterance(RAISED, 1020.0) == (None, [])  # too long after: not that line's voice


def test_upset_words_alone_raise_an_alert_with_the_words():
    call = watch()
    _mood, alerts = call.heard("caller", "this is terrible, I am very angry", 1003.0)
    assert kinds(alerts) == ["upset"]
    assert set(alerts[0].words) & {"terrible", "angry"}


def test_the_agent_is_never_upset():
    assert watch().heard("agent", "this is terrible", 1003.0) == (None, [])


def test_silence_after_the_bridge_once_per_quiet_spell_and_not_on_hold():
    call = watch(silence=(True, {"seconds": 10}))
    assert call.tick(1030.0) == []  # not bridged yet: the IVR
    call.bridged(1030.0)
    assert call.tick(1039.0) == []
    assert kinds(call.tick(1040.5)) == ["silence"]
    assert call.tick(1045.0) == []
    call.voice("agent", True, 1046.0)
    assert call.tick(1070.0) == []  # someone talking is not silence
    call.voice("agent", False, 1071.0)
    call.hold(1072.0)
    assert call.tick(1090.0) == []
    call.unhold(1090.0)
    assert kinds(call.tick(1100.0)) == ["silence"]


def test_hold_overtalk_and_long_call_thresholds_come_from_the_data():
    call = watch(
        hold=(True, {"seconds": 30}),
        overtalk=(True, {"seconds": 1.5}),
        long_call=(True, {"target_seconds": 120}),
        silence=(False, {}),
    )
    call.bridged(1010.0)
    call.voice("caller", True, 1020.0)
    call.voice("agent", True, 1021.0)
    assert call.tick(1022.0) == []
    assert kinds(call.tick(1022.6)) == ["overtalk"]
    call.voice("caller", False, 1023.0)
    call.hold(1030.0)
    assert kinds(call.tick(1061.0)) == ["hold"]
    assert kinds(call.tick(1121.0)) == ["long_call"]
    assert call.tick(1500.0) == []


def test_a_disabled_rule_and_unknown_or_bad_thresholds():
    config = WatchConfig.build(
        [{"silence": (False, {}), "nonsense": (True, {}), "hold": (True, {"seconds": "x"})}]
    )
    assert "silence" not in config.params and "nonsense" not in config.params
    assert config.params["hold"]["seconds"] == defaults()["hold"]["seconds"]
    assert set(RULES) == {"upset", "topic", "silence", "hold", "overtalk", "long_call"}


def test_a_queue_layer_overrides_every_queue():
    config = WatchConfig.build(
        [
            {"long_call": (True, {"target_seconds": 300})},
            {"long_call": (True, {"target_seconds": 60})},
        ]
    )
    assert config.params["long_call"]["target_seconds"] == 60.0
