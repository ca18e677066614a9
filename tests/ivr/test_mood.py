"""Mood of the greeting answer: the lexicon scorer per locale and the prosody rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ivr.mood import LEXICONS, arousal, estimate_mood, word_valence


@pytest.mark.parametrize(
    ("locale", "text", "label"),
    [
        ("en", "I'm fine, thanks", "calm"),
        ("en", "great, really great", "calm"),
        ("en", "okay I guess", "neutral"),
        ("en", "I'm calling about my bill", "neutral"),
        ("en", "not good", "upset"),
        ("en", "I'm not very happy", "upset"),
        ("en", "I don't feel good", "upset"),
        ("en", "not bad", "calm"),
        ("en", "terrible, my internet is broken again", "upset"),
        ("en", "I'm fed up with this", "upset"),
        ("it", "bene, grazie", "calm"),
        ("it", "molto bene", "calm"),
        ("it", "così così", "neutral"),
        ("it", "non bene", "upset"),
        ("it", "non sto bene per niente", "upset"),
        ("it", "sono molto arrabbiato", "upset"),
        ("it", "non c'è male", "calm"),
        ("ko", "좋아요", "calm"),
        ("ko", "너무 좋아요", "calm"),
        ("ko", "괜찮아요", "calm"),
        ("ko", "그저 그래요", "neutral"),
        ("ko", "그럭저럭 지내요", "neutral"),
        ("en", "could be better", "upset"),
        ("it", "tutto a posto, grazie", "calm"),
        ("ko", "안 좋아요", "upset"),
        ("ko", "안좋아요", "upset"),
        ("ko", "좋지 않아요", "upset"),
        ("ko", "정말 화가 나요", "upset"),
        ("ko", "안녕하세요", "neutral"),
    ],
)
def test_lexicon_labels(locale: str, text: str, label: str) -> None:
    assert estimate_mood(text, locale).label == label


@pytest.mark.parametrize(
    ("locale", "plain", "intensified"),
    [
        ("en", "good", "very good"),
        ("en", "upset", "extremely upset"),
        ("it", "bene", "molto bene"),
        ("it", "arrabbiato", "davvero arrabbiato"),
        ("ko", "좋아요", "너무 좋아요"),
        ("ko", "짜증나요", "정말 짜증나요"),
    ],
)
def test_intensifiers_push_further(locale: str, plain: str, intensified: str) -> None:
    base, _ = word_valence(plain, locale)
    strong, _ = word_valence(intensified, locale)
    assert abs(strong) > abs(base)
    assert (strong > 0) == (base > 0)


@pytest.mark.parametrize(
    ("locale", "positive", "negated"),
    [
        ("en", "good", "not good"),
        ("en", "happy", "never happy"),
        ("it", "bene", "non bene"),
        ("ko", "좋아요", "안 좋아요"),
        ("ko", "좋아요", "좋지 않아요"),
        ("ko", "괜찮아요", "괜찮지 않아요"),
    ],
)
def test_negation_flips(locale: str, positive: str, negated: str) -> None:
    assert word_valence(positive, locale)[0] > 0 > word_valence(negated, locale)[0]


def test_negation_stops_at_punctuation() -> None:
    assert word_valence("no, I'm good", "en")[0] > 0


def test_evidence_names_what_counted() -> None:
    assert estimate_mood("not good, terrible", "en").evidence == ("not(good)", "terrible")


def test_korean_phrases_match_word_beginnings() -> None:
    assert estimate_mood("그저 그래요", "ko").evidence == ("그저 그래요",)


def test_longer_stem_wins_in_korean() -> None:
    assert word_valence("잘못됐어요", "ko")[0] < 0 < word_valence("잘 지내요", "ko")[0]


def test_every_shipped_locale_has_a_lexicon() -> None:
    assert set(LEXICONS) == {"en", "it", "ko"}


RAISED = {"pitch_semitones": 4.0, "level_db": 8.0, "rate_ratio": 1.35}
STEADY = {"pitch_semitones": 0.2, "level_db": -0.5, "rate_ratio": 1.0}


def test_raised_pitch_and_energy_make_neutral_words_upset() -> None:
    words_only = estimate_mood("I'm calling about my bill", "en")
    raised = estimate_mood("I'm calling about my bill", "en", RAISED)
    steady = estimate_mood("I'm calling about my bill", "en", STEADY)
    assert words_only.label == steady.label == "neutral"
    assert raised.label == "upset"
    assert raised.arousal == 1.0
    assert raised.score < steady.score


def test_raised_voice_with_happy_words_stays_calm() -> None:
    assert estimate_mood("great, thanks!", "en", RAISED).label == "calm"


def test_raised_voice_makes_upset_words_more_upset() -> None:
    assert estimate_mood("not good", "en", RAISED).score < estimate_mood("not good", "en").score


def test_only_pitch_raised_is_partly_aroused() -> None:
    assert arousal({"pitch_semitones": 1.5}) == pytest.approx(0.5)
    assert arousal({"level_db": 12.0}) == 1.0  # capped
    assert arousal({"pitch_semitones": -6.0}) == -1.0  # subdued
    assert arousal({}) is None
    assert arousal({"pitch_semitones": float("nan")}) is None
    assert arousal(None) is None


def test_a_higher_voice_that_is_not_louder_is_intonation_not_arousal() -> None:
    # a calm caller's next sentence, as espeak and people say it: higher and quicker, not louder
    sentence = {"pitch_semitones": 4.0, "level_db": 0.3, "rate_ratio": 1.3, "spread_semitones": 1.3}
    assert arousal(sentence) == pytest.approx(0.0, abs=0.05)
    assert estimate_mood("I'm calling about my bill", "en", sentence).label == "neutral"
    half, full = arousal({**sentence, "level_db": 3.0}), arousal({**sentence, "level_db": 6.0})
    assert half is not None and full is not None and 0.0 < half < full  # effort counts in steps
    assert arousal({**sentence, "level_db": -4.0, "pitch_semitones": -6.0}) < 0  # subdued stays


def test_prosody_object_with_attributes_is_accepted() -> None:
    @dataclass
    class Change:
        pitch_semitones: float
        level_db: float
        rate_ratio: float
        spread_semitones: float

    mood = estimate_mood("hello", "en", Change(3.0, 6.0, 1.3, 4.0))
    assert mood.arousal == pytest.approx(1.0)
    assert mood.label == "upset"


def test_mood_as_dict_is_plain_data() -> None:
    assert estimate_mood("fine", "en").as_dict() == {
        "label": "calm",
        "score": 0.5,
        "valence": 0.5,
        "arousal": None,
        "evidence": ["fine"],
    }


def test_the_dsp_prosody_change_plugs_in() -> None:
    from dsp import prosody

    change = prosody.ProsodyChange(
        pitch_semitones=3.5, level_db=7.0, rate_ratio=1.2, spread_semitones=2.0
    )
    assert estimate_mood("I'm calling about my bill", "en", change).label == "upset"
