"""The caller's mood from the answer to "how are you?": words per locale plus prosody.

Words give a valence from a lexicon per locale that knows negations ("not good", "non bene",
"안 좋아요", "좋지 않아요") and intensifiers ("very", "molto", "너무"). Prosody gives arousal
from how the voice changed against the caller's baseline. Both combine into a label — calm,
neutral or upset — and a score from -1 (upset) to +1 (calm).

Prosody features are a plain mapping, or any object with these attributes (such as
`dsp.prosody.ProsodyChange`), so this module does not depend on the DSP's types. Each is a
change of the utterance against the caller's baseline, and each is optional:

``pitch_semitones``
    median pitch, in semitones (+3 counts as fully raised).
``level_db``
    speech level, in dB (+6 counts as fully raised).
``rate_ratio``
    speaking rate as a ratio (1.0 unchanged, 1.3 counts as fully raised).
``spread_semitones``
    pitch range (inter-quartile spread), in semitones (+4 counts as fully raised).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: Prosody keys: (the unchanged value, the change that counts as fully aroused).
PROSODY_CUES: dict[str, tuple[float, float]] = {
    "pitch_semitones": (0.0, 3.0),
    "level_db": (0.0, 6.0),
    "rate_ratio": (1.0, 0.3),
    "spread_semitones": (0.0, 4.0),
}
#: How much full arousal pulls the score towards upset (halved when the words are positive).
AROUSAL_WEIGHT = 0.6
UPSET_BELOW = -0.25
CALM_ABOVE = 0.25
#: A negated word keeps this share of its valence, flipped: "not good" is mildly bad.
NEGATION_SHARE = 0.6
NEGATION_REACH = 3  # words back from the scored word


@dataclass(frozen=True, eq=False)
class Lexicon:
    """How one locale expresses feelings.

    ``stems`` locales (Korean) match a word by its beginning, so 좋 covers 좋아요 and 좋습니다,
    and read the short negation 안/못 glued in front and the long negation 지 않/지 못 after.
    """

    valence: Mapping[str, float]
    negators: frozenset[str]
    intensifiers: Mapping[str, float]
    stems: bool = False
    split_apostrophes: bool = False
    long_negations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mood:
    """The mood of an answer: ``label``, ``score`` in [-1, 1] and what it was made of."""

    label: str
    score: float
    valence: float
    arousal: float | None = None
    evidence: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": round(self.score, 3),
            "valence": round(self.valence, 3),
            "arousal": None if self.arousal is None else round(self.arousal, 3),
            "evidence": list(self.evidence),
        }


NEUTRAL = Mood("neutral", 0.0, 0.0)

_EN = Lexicon(
    valence={
        "good": 0.6, "great": 0.8, "fine": 0.5, "ok": 0.2, "okay": 0.2, "alright": 0.3,
        "all right": 0.3, "happy": 0.7, "glad": 0.6, "excellent": 0.9, "wonderful": 0.9,
        "fantastic": 0.9, "amazing": 0.8, "lovely": 0.7, "nice": 0.5, "pleased": 0.6,
        "thanks": 0.3, "thank you": 0.3, "better": 0.3, "calm": 0.4, "relaxed": 0.5,
        "perfect": 0.8, "awesome": 0.8, "doing well": 0.6, "i'm well": 0.5, "very well": 0.7,
        "bad": -0.6, "terrible": -0.9, "awful": -0.9, "horrible": -0.9, "angry": -0.9,
        "furious": -1.0, "upset": -0.8, "annoyed": -0.7, "frustrated": -0.8, "sad": -0.6,
        "frustrating": -0.7, "unhappy": -0.7, "worried": -0.5, "stressed": -0.6, "mad": -0.8,
        "tired": -0.3, "sick": -0.4, "disappointed": -0.7, "ridiculous": -0.8, "hate": -0.9,
        "unacceptable": -0.9, "problem": -0.4, "problems": -0.4, "broken": -0.5, "worst": -1.0,
        "fed up": -0.9, "could be better": -0.3, "poor": -0.5, "so so": -0.1, "wrong": -0.4,
        "been better": -0.4,
        "complaint": -0.6, "disgusted": -0.9, "not happy": -0.7,
    },
    negators=frozenset({"not", "no", "never", "hardly", "neither", "nor", "without"}),
    intensifiers={
        "very": 1.5, "really": 1.4, "so": 1.4, "extremely": 1.8, "super": 1.5, "too": 1.3,
        "incredibly": 1.7, "totally": 1.4, "absolutely": 1.5, "quite": 1.2, "pretty": 1.2,
        "bit": 0.6, "little": 0.6, "slightly": 0.6, "somewhat": 0.7,
    },
)  # fmt: skip

_IT = Lexicon(
    valence={
        "bene": 0.6, "benissimo": 0.9, "benone": 0.8, "ottimo": 0.8, "ottima": 0.8,
        "bello": 0.5, "bella": 0.5, "felice": 0.7, "contento": 0.6, "contenta": 0.6,
        "tranquillo": 0.4, "tranquilla": 0.4, "grazie": 0.3, "perfetto": 0.8,
        "perfetta": 0.8, "magnifico": 0.8, "splendido": 0.8, "meglio": 0.3, "sereno": 0.5,
        "serena": 0.5, "alla grande": 0.8, "tutto a posto": 0.5, "a posto": 0.4,
        "insomma": -0.1, "potrebbe andare meglio": -0.3,
        "male": -0.6, "malissimo": -0.9, "arrabbiato": -0.9, "arrabbiata": -0.9,
        "furioso": -1.0, "furiosa": -1.0, "stufo": -0.8, "stufa": -0.8, "pessimo": -0.9,
        "pessima": -0.9, "problema": -0.4, "problemi": -0.4, "disastro": -0.9, "triste": -0.6,
        "preoccupato": -0.5, "preoccupata": -0.5, "deluso": -0.7, "delusa": -0.7,
        "insoddisfatto": -0.7, "insoddisfatta": -0.7, "guasto": -0.5, "schifo": -0.9,
        "vergogna": -0.8, "così così": -0.1, "inaccettabile": -0.9, "stanco": -0.3,
        "stanca": -0.3, "nervoso": -0.6, "nervosa": -0.6, "terribile": -0.9, "orribile": -0.9,
    },
    negators=frozenset({"non", "mai", "niente", "nessun", "nessuno", "né"}),
    intensifiers={
        "molto": 1.5, "tanto": 1.4, "davvero": 1.4, "proprio": 1.3, "troppo": 1.3,
        "super": 1.5, "così": 1.3, "veramente": 1.4, "estremamente": 1.8, "abbastanza": 0.8,
        "po": 0.6,
    },
    split_apostrophes=True,
)  # fmt: skip

_KO = Lexicon(
    valence={
        "좋": 0.6, "괜찮": 0.4, "잘": 0.4, "행복": 0.8, "기쁘": 0.7, "기뻐": 0.7, "감사": 0.3,
        "고맙": 0.3, "다행": 0.5, "최고": 0.9, "훌륭": 0.8, "편안": 0.5, "만족": 0.6,
        "즐겁": 0.6, "즐거": 0.6, "신나": 0.6,
        "나쁘": -0.6, "나빠": -0.6, "화가": -0.9, "화나": -0.9, "화났": -0.9, "짜증": -0.8,
        "최악": -1.0, "답답": -0.6, "속상": -0.7, "슬프": -0.6, "슬퍼": -0.6, "힘들": -0.6,
        "힘드": -0.6, "피곤": -0.3, "불만": -0.7, "실망": -0.7, "문제": -0.4, "걱정": -0.5,
        "열받": -0.9, "별로": -0.4, "엉망": -0.8, "불편": -0.5, "우울": -0.6, "고장": -0.5,
        "끔찍": -0.9, "잘못": -0.4, "그럭저럭": -0.1, "그저 그래": -0.1, "그냥 그래": -0.1,
    },
    negators=frozenset({"안", "못"}),
    intensifiers={
        "너무": 1.5, "정말": 1.4, "진짜": 1.4, "아주": 1.5, "매우": 1.5, "엄청": 1.6,
        "완전": 1.5, "무척": 1.4, "굉장히": 1.5, "조금": 0.6, "좀": 0.7, "약간": 0.6,
    },
    stems=True,
    long_negations=("지 않", "지 못", "지않", "지못"),
)  # fmt: skip

#: Lexicons per locale: a new locale is a new entry.
LEXICONS: dict[str, Lexicon] = {"en": _EN, "it": _IT, "ko": _KO}

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|[.,;:!?]")
_BREAKS = frozenset(".,;:!?")


def _tokens(text: str, lexicon: Lexicon) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("n't", " not")
    if lexicon.split_apostrophes:
        text = text.replace("'", " ")
    return _TOKEN.findall(text)


def word_valence(text: str, locale: str) -> tuple[float, tuple[str, ...]]:
    """Valence of *text* in [-1, 1] from the locale's lexicon, and the phrases that counted."""
    lexicon = LEXICONS.get(locale, _EN)
    tokens = _tokens(text, lexicon)
    total, evidence, index = 0.0, [], 0
    while index < len(tokens):
        match = _match(tokens, index, lexicon)
        if match is None:
            index += 1
            continue
        length, value, glued_negation = match
        phrase = " ".join(tokens[index : index + length])
        negated = glued_negation or _negated_before(tokens, index, lexicon)
        negated = negated or _negated_after(tokens, index + length - 1, lexicon)
        value *= _intensity(tokens, index, lexicon)
        if negated:
            value, phrase = -value * NEGATION_SHARE, f"not({phrase})"
        total += value
        evidence.append(phrase)
        index += length
    return max(-1.0, min(1.0, total)), tuple(evidence)


def _match(tokens: list[str], index: int, lexicon: Lexicon) -> tuple[int, float, bool] | None:
    """(tokens used, valence, negation glued to the word) of the longest entry at *index*."""
    for length in (3, 2, 1):
        phrase = " ".join(tokens[index : index + length])
        if len(tokens) - index >= length and phrase in lexicon.valence:
            return length, lexicon.valence[phrase], False
    if not lexicon.stems:
        return None
    for phrase in _phrases(lexicon):  # 그저 그래 matches 그저 그래요
        words = phrase.split()
        ahead = tokens[index : index + len(words)]
        if len(ahead) == len(words) and all(
            t.startswith(w) for t, w in zip(ahead, words, strict=True)
        ):
            return len(words), lexicon.valence[phrase], False
    word = tokens[index]
    for negator in ("", *sorted(lexicon.negators)):
        if not word.startswith(negator):
            continue
        rest = word[len(negator) :]
        for stem in _stems(lexicon):
            if rest.startswith(stem):
                glued = bool(negator) or any(n in rest for n in lexicon.long_negations)
                return 1, lexicon.valence[stem], glued
    return None


@cache
def _phrases(lexicon: Lexicon) -> tuple[str, ...]:
    return tuple(sorted((w for w in lexicon.valence if " " in w), key=len, reverse=True))


@cache
def _stems(lexicon: Lexicon) -> tuple[str, ...]:
    """Single-word entries, longest first, so 잘못 (a mistake) wins over 잘 (well)."""
    return tuple(sorted((w for w in lexicon.valence if " " not in w), key=len, reverse=True))


def _negated_before(tokens: list[str], index: int, lexicon: Lexicon) -> bool:
    reach = 1 if lexicon.stems else NEGATION_REACH
    for back in range(index - 1, max(-1, index - 1 - reach), -1):
        if tokens[back] in _BREAKS:
            return False
        if tokens[back] in lexicon.negators:
            return True
    return False


def _negated_after(tokens: list[str], index: int, lexicon: Lexicon) -> bool:
    """Korean long negation: 좋지 않아요 (the word ends in 지, the next starts with 않/못)."""
    if not lexicon.long_negations or index + 1 >= len(tokens):
        return False
    pair = f"{tokens[index][-1:]} {tokens[index + 1]}"
    return any(pair.startswith(negation) for negation in lexicon.long_negations)


def _intensity(tokens: list[str], index: int, lexicon: Lexicon) -> float:
    factor = 1.0
    for back in range(index - 1, max(-1, index - 3), -1):
        word = tokens[back]
        if word in _BREAKS:
            break
        if word in lexicon.intensifiers:
            factor *= lexicon.intensifiers[word]
        elif word not in lexicon.negators and word != "a":
            break
    return factor


def _features(prosody: Mapping[str, float] | Any | None) -> dict[str, float]:
    if prosody is None:
        return {}
    if isinstance(prosody, Mapping):
        raw = {key: prosody.get(key) for key in PROSODY_CUES}
    else:
        raw = {key: getattr(prosody, key, None) for key in PROSODY_CUES}
    return {
        key: float(value)
        for key, value in raw.items()
        if isinstance(value, int | float) and math.isfinite(value)
    }


def arousal(prosody: Mapping[str, float] | Any | None) -> float | None:
    """Arousal in [-1, 1] from prosody changes vs baseline (None when no feature is known).

    Vocal effort gates a raised voice: when the level is known, a rise counts only as far as
    the voice got louder (in full from the level that counts as fully raised, 6 dB). Pitch,
    rate and range move with intonation too — another sentence, a question — and a calm
    caller's next sentence came out 2-5 semitones above their greeting's answer in the alert
    bench (docs/benchmarks.md), which raised half its false alarms. A subdued voice is kept."""
    features = _features(prosody)
    if not features:
        return None
    parts = [
        max(-1.0, min(1.0, (value - PROSODY_CUES[key][0]) / PROSODY_CUES[key][1]))
        for key, value in features.items()
    ]
    level = sum(parts) / len(parts)
    if level > 0 and "level_db" in features:
        rest, full = PROSODY_CUES["level_db"]
        level *= max(0.0, min(1.0, (features["level_db"] - rest) / full))
    return level


def estimate_mood(text: str, locale: str, prosody: Mapping[str, float] | Any | None = None) -> Mood:
    """Mood of an answer: words set the direction, a raised voice pulls towards upset."""
    valence, evidence = word_valence(text, locale)
    level = arousal(prosody)
    score = valence
    if level is not None and level > 0:
        score -= AROUSAL_WEIGHT * level * (0.5 if valence > CALM_ABOVE else 1.0)
    score = max(-1.0, min(1.0, score))
    label = "upset" if score <= UPSET_BELOW else "calm" if score >= CALM_ABOVE else "neutral"
    return Mood(label, score, valence, level, evidence)
