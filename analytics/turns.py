"""Who spoke when: talk time per side, interruptions and long silences from timed utterances.

Everything here is pure and works in seconds from the start of the call. Definitions, and how
they line up with Amazon Connect Contact Lens, are in docs/analytics.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analytics.phrases import LocalePhrases, is_backchannel, words

CALLER, AGENT = "caller", "agent"
LONG_SILENCE_SECONDS = 3.0
#: a line this short, of one or two words, is a listening noise even when the recogniser
#: misheard it (espeak-ng "음 네" came back as "읍 네"): never an interruption
SHORT_NOISE_SECONDS = 0.7


@dataclass(frozen=True)
class Utterance:
    """One final transcript line on the call's timeline."""

    speaker: str
    start: float
    end: float
    text: str = ""

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Interruption:
    """*by* started speaking while *over* was still speaking."""

    by: str
    over: str
    at: float
    text: str


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def clipped(utterances: Iterable[Utterance], window: Span) -> list[Utterance]:
    """The utterances inside *window*, cut at its edges, in order of start."""
    kept = []
    for said in utterances:
        start, end = max(said.start, window.start), min(said.end, window.end)
        if end > start:
            kept.append(Utterance(said.speaker, start, end, said.text))
    return sorted(kept, key=lambda said: (said.start, said.end))


def union(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans merged, in order."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda span: span.start):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def talk_seconds(utterances: Sequence[Utterance], speaker: str) -> float:
    """Seconds in which *speaker* was talking (their own overlaps counted once)."""
    spans = union(Span(s.start, s.end) for s in utterances if s.speaker == speaker)
    return sum(span.seconds for span in spans)


def speech(utterances: Sequence[Utterance]) -> list[Span]:
    """When anybody was talking."""
    return union(Span(s.start, s.end) for s in utterances)


def interruptions(utterances: Sequence[Utterance], phrases: LocalePhrases) -> list[Interruption]:
    """Every line that starts while the other side is mid-line, back-channels excepted.

    One pass in order of start: a line interrupts when a line of another speaker that began
    strictly before it has not ended yet."""
    found = []
    latest_end: dict[str, float] = {}  # speaker -> the latest end of their lines begun so far
    ordered = sorted(utterances, key=lambda said: said.start)
    for _start, group in itertools.groupby(ordered, key=lambda said: said.start):
        same_start = list(group)
        for said in same_start:
            if listening(said, phrases):
                continue
            over = next((speaker for speaker, end in latest_end.items()
                         if speaker != said.speaker and end > said.start), None)
            if over is not None:
                found.append(Interruption(said.speaker, over, said.start, said.text))
        for said in same_start:
            latest_end[said.speaker] = max(latest_end.get(said.speaker, said.end), said.end)
    return found


def listening(said: Utterance, phrases: LocalePhrases) -> bool:
    """A back-channel: the locale's listening words, or a noise too short to take the turn."""
    return is_backchannel(said.text, phrases) or (
        said.seconds <= SHORT_NOISE_SECONDS and len(words(said.text)) <= 2
    )


def silences(
    utterances: Sequence[Utterance],
    holds: Sequence[Span] = (),
    longer_than: float = LONG_SILENCE_SECONDS,
) -> list[Span]:
    """Gaps between lines (nobody talking, not on hold) longer than *longer_than* seconds."""
    talking = speech(utterances)
    found = []
    for before, after in itertools.pairwise(talking):
        for gap in without(Span(before.end, after.start), holds):
            if gap.seconds > longer_than:
                found.append(gap)
    return found


def without(span: Span, holes: Sequence[Span]) -> list[Span]:
    """What is left of *span* once every hole is taken out."""
    left = [span]
    for hole in union(holes):
        cut: list[Span] = []
        for part in left:
            if hole.end <= part.start or hole.start >= part.end:
                cut.append(part)
                continue
            if hole.start > part.start:
                cut.append(Span(part.start, hole.start))
            if hole.end < part.end:
                cut.append(Span(hole.end, part.end))
        left = cut
    return left
