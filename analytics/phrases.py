"""What words mean to the analysis, per locale: back-channels, empathy, courtesy and requests.

A registry keyed by locale: a new language is a new entry. Phrases are matched on the
normalised text of a transcript line (lower case, punctuation dropped, words joined by one
space), whole words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class LocalePhrases:
    """The words of one locale the analysis looks for."""

    #: short listening noises that never count as an interruption
    backchannels: frozenset[str]
    empathy: tuple[str, ...]
    courtesy: tuple[str, ...]
    #: words that make an agent's line a request for something (for "asked twice")
    requests: tuple[str, ...]


PHRASES: dict[str, LocalePhrases] = {
    "en": LocalePhrases(
        backchannels=frozenset({
            "mm", "mhm", "hmm", "uh", "huh", "uhhuh", "okay", "ok", "yes", "yeah", "yep",
            "right", "sure", "i", "see", "alright", "got", "it",
        }),
        empathy=(
            "i understand", "i am sorry", "i'm sorry", "sorry to hear", "i see why",
            "that must be", "i can imagine", "i apologise", "i apologize",
        ),
        courtesy=("please", "thank you", "thanks", "you are welcome", "good morning",
                  "good afternoon", "have a nice day", "goodbye"),
        requests=("could you", "can you", "what is your", "may i have", "please give",
                  "please tell", "tell me your", "confirm your"),
    ),
    "it": LocalePhrases(
        backchannels=frozenset({
            "mm", "mhm", "ehm", "sì", "si", "ok", "okay", "va", "bene", "certo", "capisco",
            "giusto", "ah",
        }),
        empathy=("capisco", "mi dispiace", "mi scusi", "comprendo", "immagino", "ha ragione"),
        courtesy=("per favore", "per cortesia", "grazie", "prego", "buongiorno",
                  "buonasera", "arrivederci", "buona giornata"),
        requests=("può dirmi", "mi dica", "potrebbe", "qual è il suo", "mi conferma",
                  "mi può dare"),
    ),
    "ko": LocalePhrases(
        backchannels=frozenset({
            "음", "네", "예", "응", "아", "어", "그렇군요", "맞아요", "알겠습니다", "네네",
        }),
        empathy=("죄송합니다", "이해합니다", "불편을 드려", "속상하셨", "죄송해요"),
        courtesy=("감사합니다", "고맙습니다", "안녕하세요", "부탁드립니다", "좋은 하루"),
        requests=("말씀해 주시", "알려 주시", "확인해 주시", "번호를", "성함을"),
    ),
}


def phrases_for(locale: str) -> LocalePhrases:
    """The locale's phrases, else its language's (``it-IT`` -> ``it``), else English."""
    return PHRASES.get(locale) or PHRASES.get(locale.split("-")[0].lower()) or PHRASES["en"]


def words(text: str) -> list[str]:
    return [word.lower() for word in WORD.findall(text)]


def normalised(text: str) -> str:
    return " ".join(words(text.replace("'", "")))


def is_backchannel(text: str, phrases: LocalePhrases) -> bool:
    """Every word a listening noise (``"okay"``, ``"mm yes"``), at most three words."""
    found = words(text)
    return 0 < len(found) <= 3 and all(word in phrases.backchannels for word in found)


def count_phrases(text: str, wanted: tuple[str, ...]) -> list[str]:
    """The phrases of *wanted* found in *text* (whole words; each phrase as often as said)."""
    padded = f" {normalised(text)} "
    found = []
    for phrase in wanted:
        key = f" {normalised(phrase)} "
        found += [phrase] * padded.count(key)
    return found
