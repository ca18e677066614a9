"""Finding watched phrases in what was said, with word boundaries and each locale's forms.

One matcher per locale, registered by locale code: English takes a phrase's inflected forms
("cancel" finds "cancels", "cancelled", "cancelling") but not a longer word ("cancellation" is
another word, so it needs its own phrase); Italian lets a phrase's last vowel vary ("reclamo"
finds "reclami"); Korean matches at the start of a word, since particles and endings are glued
on ("해지" finds "해지하고", "해지를") but not inside one. Unknown locales match whole words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

Pattern = Callable[[str], str]  # escaped phrase -> regular expression


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _words(phrase: str) -> list[str]:
    return [re.escape(word) for word in normalise(phrase).split()]


def _whole(phrase: str) -> str:
    return r"(?<!\w)" + r"\s+".join(_words(phrase)) + r"(?!\w)"


def _english(phrase: str) -> str:
    words = _words(phrase)
    last = words[-1]
    doubled = re.escape(normalise(phrase).split()[-1][-1:])
    forms = rf"(?:s|es|d|ed|ing|{doubled}ed|{doubled}ing)?"
    return r"(?<!\w)" + r"\s+".join([*words[:-1], last + forms]) + r"(?!\w)"


def _italian(phrase: str) -> str:
    words = normalise(phrase).split()
    last = words[-1]
    if len(last) > 3 and last[-1] in "aeiou":
        tail = re.escape(last[:-1]) + "[aeiou]"
    else:
        tail = re.escape(last)
    return r"(?<!\w)" + r"\s+".join([re.escape(w) for w in words[:-1]] + [tail]) + r"(?!\w)"


def _korean(phrase: str) -> str:
    return r"(?<!\w)" + r"\s+".join(_words(phrase))


MATCHERS: dict[str, Pattern] = {"en": _english, "it": _italian, "ko": _korean}


@lru_cache(maxsize=4096)
def _compiled(locale: str, phrase: str) -> re.Pattern[str]:
    return re.compile(MATCHERS.get(locale.split("-")[0], _whole)(phrase))


def found(text: str, phrases: Iterable[str], locale: str) -> list[tuple[str, str]]:
    """Each watched phrase said in *text*, with the words as said: ``[(phrase, said)]``."""
    said = normalise(text)
    hits: list[tuple[str, str]] = []
    for phrase in phrases:
        if not phrase.strip():
            continue
        match = _compiled(locale, phrase).search(said)
        if match is not None:
            end = match.end()
            while end < len(said) and said[end].isalnum():  # the whole word as said
                end += 1
            hits.append((phrase, said[match.start() : end]))
    return hits
