"""The post-call survey as pure logic: its questions, how an answer is heard, and the result.

After the agent hangs up, a caller whose queue asks for it hears up to two questions from the
call's flow document (`SURVEY_PROMPTS`; a flow that leaves one out gets the default flow's
words): the score, 1 to 5, and whether the problem was solved (1 yes, 2 no). Each is answered
by a key or by voice in the caller's locale; a question that gets no usable answer in time is
skipped, and a caller who hangs up skips the rest. `SurveyRun` is the state machine: the
worker feeds it keys, final transcripts and timeouts, and plays what it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ivr.accounts import spoken_digits

CSAT, SOLVED, THANKS = "survey_csat", "survey_solved", "survey_thanks"
#: Prompts of the survey (no step names them), and what each asks.
SURVEY_PROMPTS = {
    CSAT: "after the agent hangs up: how did we do, 1 to 5 (key or voice)",
    SOLVED: "then: was the problem solved, 1 yes, 2 no (key or voice)",
    THANKS: "at the end of the survey: thanks and goodbye",
}
#: Seconds a caller has to answer each question.
ANSWER_SECONDS = 8.0

#: Words that mean yes / no, per locale (lower case; Korean as Vosk writes it).
YES_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"yes", "yeah", "yep", "solved", "sure"}),
    "it": frozenset({"sì", "si", "risolto", "certo"}),
    "ko": frozenset({"네", "예", "응", "해결", "해결됐어요", "해결되었습니다"}),
}
NO_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"no", "nope", "not"}),
    "it": frozenset({"no", "non"}),
    "ko": frozenset({"아니요", "아니오", "아니", "안"}),
}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _score(text: str, locale: str) -> int | None:
    """A score 1..5 said in *locale* ("four", "quattro", "사", "넷"), else None."""
    digits = spoken_digits(text, locale)
    if digits and len(digits) == 1 and digits in "12345":
        return int(digits)
    return None


def _yes_no(text: str, locale: str) -> bool | None:
    words = {w.lower() for w in _WORD.findall(text)}
    yes = bool(words & YES_WORDS.get(locale, frozenset()))
    no = bool(words & NO_WORDS.get(locale, frozenset()))
    return None if yes == no else yes


@dataclass(frozen=True)
class Question:
    """One survey question: its prompt, its keys and how its spoken answer is read."""

    prompt: str
    keys: Mapping[str, int | bool]
    words: Callable[[str, str], int | bool | None]


QUESTIONS: dict[str, Question] = {
    CSAT: Question(CSAT, {str(n): n for n in range(1, 6)}, _score),
    SOLVED: Question(SOLVED, {"1": True, "2": False}, _yes_no),
}


@dataclass
class SurveyAnswers:
    """What the caller said: the score, whether it was solved, and how they answered."""

    csat: int | None = None
    solved: bool | None = None
    channel: str | None = None  # "key" or "voice" (the first answer's)

    @property
    def answered(self) -> bool:
        return self.csat is not None or self.solved is not None


@dataclass
class SurveyRun:
    """One caller's survey: ask each question in turn, then thank them."""

    locale: str
    questions: tuple[str, ...] = (CSAT, SOLVED)
    answers: SurveyAnswers = field(default_factory=SurveyAnswers)
    index: int = 0
    finished: bool = False

    @property
    def asking(self) -> str | None:
        """The prompt of the question now asked (None after the last)."""
        return self.questions[self.index] if self.index < len(self.questions) else None

    def start(self) -> str:
        """The first prompt to play."""
        return self.asking or THANKS

    def on_key(self, digit: str) -> str | None:
        """A key: the next prompt to play when it answered the question, else None."""
        question = QUESTIONS.get(self.asking or "")
        if question is None or digit not in question.keys:
            return None
        return self._answer(question, question.keys[digit], "key")

    def on_words(self, text: str) -> str | None:
        """A final transcript: the next prompt when it answered the question, else None."""
        question = QUESTIONS.get(self.asking or "")
        if question is None:
            return None
        value = question.words(text, self.locale)
        return None if value is None else self._answer(question, value, "voice")

    def on_timeout(self) -> str:
        """No usable answer in time: skip to the next question (or the thanks)."""
        self.index += 1
        return self.asking or THANKS

    def thanked(self) -> None:
        """The thanks has been played: the survey is over."""
        self.finished = True

    def _answer(self, question: Question, value: int | bool, channel: str) -> str:
        if question.prompt == CSAT and not isinstance(value, bool):
            self.answers.csat = value
        elif question.prompt == SOLVED and isinstance(value, bool):
            self.answers.solved = value
        self.answers.channel = self.answers.channel or channel
        self.index += 1
        return self.asking or THANKS
