"""What the store knows of one ended call, gathered once: the input of the analysis and summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.turns import CALLER, Span, Utterance
from store.models import Call, Credit, Interaction
from store.supervision import TranscriptLine


@dataclass(frozen=True)
class MoodPoint:
    """The caller's mood at a moment of the call (score in [-1, 1], higher is happier)."""

    at: float
    score: float
    label: str = ""


@dataclass(frozen=True)
class AgentAction:
    """Something the agent did on the call that the summary tells: a credit, a transfer, a note."""

    kind: str
    text: str


@dataclass
class CallFacts:
    """One ended call on its own timeline (seconds from ``started_at``)."""

    call_id: str
    locale: str
    queue: str | None
    agent_id: int | None
    customer_id: int | None
    started_at: datetime
    duration: float
    answered: float | None
    bridged: float | None
    utterances: list[Utterance] = field(default_factory=list)
    holds: list[Span] = field(default_factory=list)
    moods: list[MoodPoint] = field(default_factory=list)
    greeting: str = ""
    ivr_steps: list[str] = field(default_factory=list)
    actions: list[AgentAction] = field(default_factory=list)
    wrap_up: str | None = None


def epoch(moment: datetime) -> float:
    """Seconds since 1970 of a naive-UTC (or aware) datetime."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.timestamp()


def _at(value: Any, origin: float) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return epoch(datetime.fromisoformat(value)) - origin
    except ValueError:
        return None


def utterances_of(transcript: list[Any], origin: float, fallback: float) -> list[Utterance]:
    """Transcript entries (``speaker``, ``text``, ``start``/``end`` in the speaker's audio,
    ``spoken_at`` wall clock of ``start``) placed on the call's timeline."""
    found = []
    for entry in transcript:
        if not isinstance(entry, dict) or not entry.get("text"):
            continue
        start, end = float(entry.get("start") or 0.0), float(entry.get("end") or 0.0)
        spoken_at = entry.get("spoken_at")
        begin = float(spoken_at) - origin if spoken_at else fallback + start
        found.append(Utterance(str(entry.get("speaker") or CALLER), begin,
                               begin + max(0.0, end - start), str(entry["text"])))
    return sorted(found, key=lambda said: said.start)


def holds_of(call_data: dict[str, Any], origin: float, end: float) -> list[Span]:
    spans = []
    for hold in call_data.get("holds") or []:
        start = _at(hold.get("held_at"), origin) if isinstance(hold, dict) else None
        if start is not None:
            resumed = _at(hold.get("resumed_at"), origin)
            spans.append(Span(start, end if resumed is None else resumed))
    return spans


def gather(session: Session, call_id: str) -> CallFacts | None:
    """The facts of an ended call, or None when there is no such ended call."""
    call = session.get(Call, call_id)
    if call is None or call.ended_at is None:
        return None
    origin = epoch(call.started_at)
    duration = max(0.0, epoch(call.ended_at) - origin)
    data = dict(call.call_data or {})
    answered = epoch(call.answered_at) - origin if call.answered_at else None
    facts = CallFacts(
        call_id=call.id,
        locale=str(data.get("locale") or "en"),
        queue=data.get("queue") if isinstance(data.get("queue"), str) else None,
        agent_id=call.agent_id,
        customer_id=call.customer_id,
        started_at=call.started_at,
        duration=duration,
        answered=answered,
        bridged=epoch(call.bridged_at) - origin if call.bridged_at else None,
        utterances=utterances_of(list(call.transcript or []), origin, answered or 0.0),
        holds=holds_of(data, origin, duration),
        greeting=str(data.get("greeting_transcript") or ""),
        ivr_steps=[str(step) for step in data.get("steps") or []],
    )
    facts.moods = _moods(session, call_id, data, origin)
    facts.actions, facts.wrap_up = _actions(session, call_id, data)
    return facts


def _moods(session: Session, call_id: str, data: dict[str, Any], origin: float) -> list[MoodPoint]:
    points = []
    if data.get("mood_score") is not None and data.get("greeting_transcript"):
        points.append(MoodPoint(0.0, float(data["mood_score"]), str(data.get("mood") or "")))
    lines = session.scalars(
        select(TranscriptLine)
        .where(TranscriptLine.call_id == call_id, TranscriptLine.speaker == CALLER)
        .order_by(TranscriptLine.at, TranscriptLine.id)
    ).all()
    for line in lines:
        if line.mood_score is not None:
            points.append(MoodPoint(epoch(line.at) - origin, line.mood_score, line.mood or ""))
    return points


def _actions(
    session: Session, call_id: str, data: dict[str, Any]
) -> tuple[list[AgentAction], str | None]:
    actions = []
    credits = session.scalars(select(Credit).where(Credit.call_id == call_id).order_by(Credit.id))
    for credit in credits:
        amount = f"{credit.amount_cents / 100:.2f} {credit.currency}"
        actions.append(AgentAction("credit", f"{credit.kind} credit of {amount}: {credit.reason}"))
    for transfer in data.get("transfers") or []:
        if isinstance(transfer, dict):
            actions.append(AgentAction("transfer", f"{transfer.get('mode')} transfer to "
                                                   f"{transfer.get('to')}"))
    wrap_up = None
    notes = session.scalars(
        select(Interaction).where(Interaction.call_id == call_id).order_by(Interaction.id)
    )
    for note in notes:
        wrap_up = note.outcome or wrap_up
        if note.notes:
            actions.append(AgentAction("note", note.notes))
        if note.follow_up:
            actions.append(AgentAction("follow_up", note.follow_up))
    return actions, wrap_up
