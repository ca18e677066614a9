"""Reports people read: per agent, per queue or per day — volumes, handle times, first-contact
resolution, CSAT, mood change and relationship-routing hits — over the stored analyses.

Pure over the store: `build_report` returns rows; the console renders them as a table, charts
and CSV with the same columns (`COLUMNS`). Who sees which calls is a `Scope`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.csat import csat_by_call
from store.analytics_tables import CallAnalytics
from store.models import Agent, Call

#: a repeat call from the same customer within this many days counts against first contact
REPEAT_DAYS = 7
#: how far back a caller's previous agent is looked for (relationship routing)
RELATIONSHIP_DAYS = 90
MISSING = "—"


@dataclass(frozen=True)
class Scope:
    """Which calls a person may see: every call (None), one agent's, or some queues'."""

    agent_ids: frozenset[int] | None = None
    queues: frozenset[str] | None = None

    def allows(self, call: Call, analysis: CallAnalytics | None) -> bool:
        if self.agent_ids is not None and call.agent_id not in self.agent_ids:
            return False
        queue = analysis.queue if analysis else (call.call_data or {}).get("queue")
        return self.queues is None or queue in self.queues


@dataclass
class CallLine:
    """One call of the report with what it is grouped and judged by."""

    call: Call
    analysis: CallAnalytics | None
    agent_name: str | None
    first_contact: bool | None = None  # None: not an answered call of a known caller
    relationship: bool | None = None  # None: not a returning caller
    csat: int | None = None


@dataclass
class ReportRow:
    key: str
    calls: int = 0
    answered: int = 0
    handle_seconds: float | None = None
    talk_ratio: float | None = None
    interruptions: float | None = None
    long_silences: float | None = None
    fcr_percent: float | None = None
    csat: float | None = None
    mood_change: float | None = None
    relationship_percent: float | None = None
    call_ids: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        return [self.key, str(self.calls), str(self.answered)] + [
            shown(value, digits)
            for value, digits in (
                (self.handle_seconds, 0), (self.talk_ratio, 0), (self.interruptions, 1),
                (self.long_silences, 1), (self.fcr_percent, 0), (self.csat, 1),
                (self.mood_change, 2), (self.relationship_percent, 0),
            )
        ]


COLUMNS = [
    "group", "calls", "answered", "avg handle (s)", "agent talk %", "interruptions / call",
    "silences > 3 s / call", "first-contact resolution %", "CSAT", "mood change",
    "relationship hits %",
]


def shown(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def caller_of(call: Call) -> str:
    return f"customer:{call.customer_id}" if call.customer_id else f"number:{call.caller}"


#: how calls are grouped: name -> the label of a call's group
GROUPINGS: dict[str, Callable[[CallLine], str]] = {
    "agent": lambda line: line.agent_name or "no agent",
    "queue": lambda line: (line.analysis.queue if line.analysis else None)
    or str((line.call.call_data or {}).get("queue") or "no queue"),
    "day": lambda line: f"{line.call.started_at:%Y-%m-%d}",
}


def call_lines(
    session: Session, since: datetime, until: datetime, scope: Scope,
    repeat_days: int = REPEAT_DAYS,
) -> list[CallLine]:
    """The ended calls started in [since, until) that *scope* allows, each judged."""
    rows = session.execute(
        select(Call, CallAnalytics, Agent.name)
        .outerjoin(CallAnalytics, CallAnalytics.call_id == Call.id)
        .outerjoin(Agent, Agent.id == Call.agent_id)
        .where(Call.ended_at.is_not(None),
               Call.started_at >= since - timedelta(days=RELATIONSHIP_DAYS),
               Call.started_at < until + timedelta(days=repeat_days))
        .order_by(Call.started_at, Call.id)
    ).all()
    history: dict[str, list[Call]] = defaultdict(list)
    for call, _analysis, _name in rows:
        history[caller_of(call)].append(call)
    lines = []
    for call, analysis, name in rows:
        if not since <= call.started_at < until or not scope.allows(call, analysis):
            continue
        line = CallLine(call, analysis, name)
        calls = history[caller_of(call)]
        if call.bridged_at is not None and call.caller:
            later = [c for c in calls if call.started_at < c.started_at
                     <= call.started_at + timedelta(days=repeat_days)]
            line.first_contact = not later
        earlier = [c for c in calls if c.started_at < call.started_at and c.agent_id
                   and c.bridged_at is not None]
        if earlier and call.bridged_at is not None:
            line.relationship = call.agent_id == earlier[-1].agent_id
        lines.append(line)
    scores = csat_by_call(session, [line.call.id for line in lines])
    for line in lines:
        line.csat = scores.get(line.call.id)
    return lines


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return mean(present) if present else None


def _percent(flags: Sequence[bool | None]) -> float | None:
    judged = [flag for flag in flags if flag is not None]
    return 100.0 * sum(judged) / len(judged) if judged else None


def summarise_rows(lines: Sequence[CallLine], by: str) -> list[ReportRow]:
    """One row per group (sorted by its label), plus nothing else: totals are `total_row`."""
    groups: dict[str, list[CallLine]] = defaultdict(list)
    for line in lines:
        groups[GROUPINGS[by](line)].append(line)
    return [row_of(key, groups[key]) for key in sorted(groups)]


def row_of(key: str, lines: Sequence[CallLine]) -> ReportRow:
    analysed = [line.analysis for line in lines if line.analysis is not None]
    answered = [a for line in lines if (a := line.analysis) is not None
                and line.call.bridged_at is not None]
    ratio = _mean([a.agent_talk_ratio for a in answered])
    return ReportRow(
        key=key,
        calls=len(lines),
        answered=sum(1 for line in lines if line.call.bridged_at is not None),
        handle_seconds=_mean([a.handle_seconds for a in answered]),
        talk_ratio=None if ratio is None else 100 * ratio,
        interruptions=_mean([float(a.caller_interruptions + a.agent_interruptions)
                             for a in answered]),
        long_silences=_mean([float(a.long_silences) for a in answered]),
        fcr_percent=_percent([line.first_contact for line in lines]),
        csat=_mean([None if line.csat is None else float(line.csat) for line in lines]),
        mood_change=_mean([a.mood_end - a.mood_start for a in analysed
                           if a.mood_end is not None and a.mood_start is not None]),
        relationship_percent=_percent([line.relationship for line in lines]),
        call_ids=[line.call.id for line in lines],
    )


def build_report(
    session: Session, by: str, since: datetime, until: datetime, scope: Scope,
    repeat_days: int = REPEAT_DAYS,
) -> tuple[list[ReportRow], ReportRow]:
    """The rows grouped *by* (a key of `GROUPINGS`) and the row of all of them together."""
    if by not in GROUPINGS:
        raise KeyError(by)
    lines = call_lines(session, since, until, scope, repeat_days)
    return summarise_rows(lines, by), row_of("all calls", lines)
