"""The measures of one call from its facts: talk, interruptions, silences, hold, mood, phrases.

Pure: `measure(facts)` returns `CallMeasures`, which `analytics.runner` stores in
``call_analytics``. docs/analytics.md defines every figure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from analytics.facts import CallFacts
from analytics.phrases import count_phrases, normalised, phrases_for
from analytics.turns import (
    AGENT,
    CALLER,
    Span,
    Utterance,
    clipped,
    interruptions,
    silences,
    speech,
    talk_seconds,
)

#: two requests this alike (shared words over the shorter one's) ask the same thing
SAME_REQUEST = 0.6
#: at most this many mood points kept in the stored trajectory
MOOD_POINTS = 20


@dataclass
class CallMeasures:
    """Every figure of one call, with the lists behind the counts in ``detail``."""

    handle_seconds: float
    caller_talk_seconds: float
    agent_talk_seconds: float
    agent_talk_ratio: float | None
    non_talk_seconds: float
    caller_interruptions: int
    agent_interruptions: int
    long_silences: int
    longest_silence_seconds: float
    hold_seconds: float
    seconds_to_human: float | None
    mood_start: float | None
    mood_end: float | None
    asked_twice: int
    empathy_phrases: int
    courtesy_phrases: int
    detail: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        return asdict(self)


def conversation(facts: CallFacts) -> Span:
    """The part of the call measured for talk: from the agent's arrival (else the answer) on."""
    start = facts.bridged if facts.bridged is not None else (facts.answered or 0.0)
    return Span(start, max(start, facts.duration))


def measure(facts: CallFacts) -> CallMeasures:
    phrases = phrases_for(facts.locale)
    window = conversation(facts)
    said = clipped(facts.utterances, window)
    holds = [Span(max(h.start, window.start), min(h.end, window.end)) for h in facts.holds]
    holds = [hold for hold in holds if hold.seconds > 0]
    caller, agent = talk_seconds(said, CALLER), talk_seconds(said, AGENT)
    talking = sum(span.seconds for span in speech(said))
    cut_offs = interruptions(said, phrases)
    quiet = silences(said, holds)
    agent_lines = [line for line in said if line.speaker == AGENT]
    empathy = [p for line in agent_lines for p in count_phrases(line.text, phrases.empathy)]
    courtesy = [p for line in agent_lines for p in count_phrases(line.text, phrases.courtesy)]
    repeats = repeated_requests(agent_lines, phrases.requests)
    ivr_repeats = [step for step, seen in Counter(facts.ivr_steps).items() if seen > 1]
    moods = facts.moods
    step = max(1, len(moods) // MOOD_POINTS + (1 if len(moods) % MOOD_POINTS else 0))
    trajectory = [moods[i] for i in range(0, len(moods), step)]
    if moods and trajectory[-1] is not moods[-1]:
        trajectory.append(moods[-1])
    return CallMeasures(
        handle_seconds=round(window.seconds if facts.bridged is not None else 0.0, 2),
        caller_talk_seconds=round(caller, 2),
        agent_talk_seconds=round(agent, 2),
        agent_talk_ratio=round(agent / (agent + caller), 4) if agent + caller > 0 else None,
        non_talk_seconds=round(max(0.0, window.seconds - talking), 2),
        caller_interruptions=sum(1 for cut in cut_offs if cut.by == CALLER),
        agent_interruptions=sum(1 for cut in cut_offs if cut.by == AGENT),
        long_silences=len(quiet),
        longest_silence_seconds=round(max((gap.seconds for gap in quiet), default=0.0), 2),
        hold_seconds=round(sum(hold.seconds for hold in holds), 2),
        seconds_to_human=None if facts.bridged is None else round(facts.bridged, 2),
        mood_start=moods[0].score if moods else None,
        mood_end=moods[-1].score if moods else None,
        asked_twice=len(repeats) + len(ivr_repeats),
        empathy_phrases=len(empathy),
        courtesy_phrases=len(courtesy),
        detail={
            "conversation": [round(window.start, 2), round(window.end, 2)],
            "agent_talk_percent": (
                round(100 * agent / window.seconds, 1) if window.seconds else None
            ),
            "interruptions": [
                {"by": cut.by, "over": cut.over, "at": round(cut.at, 2), "text": cut.text}
                for cut in cut_offs
            ],
            "silences": [[round(gap.start, 2), round(gap.end, 2)] for gap in quiet],
            "holds": [[round(hold.start, 2), round(hold.end, 2)] for hold in holds],
            "mood": [{"at": round(p.at, 1), "score": p.score, "label": p.label}
                     for p in trajectory],
            "asked_twice": repeats + [f"IVR step {step}" for step in ivr_repeats],
            "empathy": empathy,
            "courtesy": courtesy,
        },
    )


def repeated_requests(lines: list[Utterance], markers: tuple[str, ...]) -> list[str]:
    """The agent's requests that ask again what an earlier one asked: the words after the
    request's marker ("could you ...") mostly the same as an earlier request's."""
    asked: list[set[str]] = []
    repeats = []
    for line in lines:
        text = f" {normalised(line.text)} "
        marker = next((m for m in markers if f" {normalised(m)} " in text), None)
        if marker is None:
            continue
        these = set(text.split(f" {normalised(marker)} ", 1)[1].split())
        if these and any(
            before and len(these & before) / min(len(these), len(before)) >= SAME_REQUEST
            for before in asked
        ):
            repeats.append(line.text)
        asked.append(these)
    return repeats
