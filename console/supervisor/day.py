"""The floor's day in charts: calls and waits per hour, service level, the callers' moods,
alerts per queue and calls handled per agent, read from the store and drawn by `console.charts`.

Everything is counted from midnight (UTC, like every stored time) up to *now*, one slot per
hour; the charts are inline SVG, so the floor page can replace them with a fresh fragment
from ``/supervisor/charts`` while it is open.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.charts import Series, bar_chart, line_chart
from store.models import Agent, Call, QueueEntry, utcnow
from store.supervision import AlertRow, TranscriptLine

#: The moods drawn, in the order of the chart's series (and its legend).
MOODS = ("upset", "neutral", "calm")
#: Answered within this many seconds counts towards the service level (as on the floor).
SERVICE_LEVEL_SECONDS = 20


@dataclass(frozen=True)
class Chart:
    """One drawn chart and, for a line chart, the names of its series (the legend)."""

    key: str
    title: str
    svg: Markup
    legend: tuple[str, ...] = ()


def _hours(now: datetime) -> tuple[datetime, list[str]]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, [f"{hour:02d}" for hour in range(now.hour + 1)]


def _slot(at: datetime, midnight: datetime) -> int:
    return int((at - midnight).total_seconds() // 3600)


def charts(session: Session, now: datetime | None = None) -> list[Chart]:
    """The day's charts, in the order the page shows them."""
    now = now or utcnow()
    midnight, labels = _hours(now)
    slots = len(labels)
    calls = session.execute(
        select(Call.started_at, Call.agent_id).where(Call.started_at >= midnight)
    ).all()
    per_hour = [0.0] * slots
    for started, _agent in calls:
        if 0 <= (slot := _slot(started, midnight)) < slots:
            per_hour[slot] += 1

    waits: dict[int, list[float]] = defaultdict(list)
    answered: Counter[int] = Counter()
    counted: Counter[int] = Counter()
    for entry in session.scalars(
        select(QueueEntry).where(QueueEntry.enqueued_at >= midnight, QueueEntry.kind == "call")
    ):
        slot = _slot(entry.enqueued_at, midnight)
        if not 0 <= slot < slots:
            continue
        end = entry.updated_at if entry.state != "waiting" else now
        wait = max(0.0, (end - entry.enqueued_at).total_seconds())
        waits[slot].append(wait)
        if entry.state in ("connected", "abandoned") or wait > SERVICE_LEVEL_SECONDS:
            counted[slot] += 1
            answered[slot] += entry.state == "connected" and wait <= SERVICE_LEVEL_SECONDS
    mean_wait = [sum(w) / len(w) if (w := waits.get(i)) else None for i in range(slots)]
    longest_wait = [max(w) if (w := waits.get(i)) else None for i in range(slots)]
    level = [round(100 * answered[i] / counted[i]) if counted[i] else None for i in range(slots)]

    moods: dict[str, list[float | None]] = {mood: [0.0] * slots for mood in MOODS}
    for mood, at in session.execute(
        select(TranscriptLine.mood, TranscriptLine.at).where(
            TranscriptLine.at >= midnight,
            TranscriptLine.speaker == "caller",
            TranscriptLine.mood.is_not(None),
        )
    ):
        if mood in moods and 0 <= (slot := _slot(at, midnight)) < slots:
            moods[mood][slot] = (moods[mood][slot] or 0.0) + 1

    alert_queues: Counter[str] = Counter(
        queue or "(no queue)"
        for (queue,) in session.execute(select(AlertRow.queue).where(AlertRow.at >= midnight))
    )
    names: dict[int, str] = {i: n for i, n in session.execute(select(Agent.id, Agent.name))}
    handled: Counter[str] = Counter(
        str(names.get(agent_id, agent_id))
        for (agent_id,) in session.execute(
            select(Call.agent_id).where(Call.bridged_at >= midnight, Call.agent_id.is_not(None))
        )
    )
    queues, agents = sorted(alert_queues), sorted(handled)
    return [
        Chart(
            "calls",
            "Calls per hour",
            bar_chart("Calls per hour", labels, Series("calls", per_hour)),
        ),
        Chart(
            "waits",
            "Waits per hour (seconds)",
            line_chart(
                "Waits per hour (seconds)",
                labels,
                [Series("mean wait", mean_wait), Series("longest wait", longest_wait)],
            ),
            ("mean wait", "longest wait"),
        ),
        Chart(
            "service_level",
            f"Service level per hour (% answered within {SERVICE_LEVEL_SECONDS} s)",
            line_chart("Service level per hour", labels, [Series("service level", level)]),
            ("service level",),
        ),
        Chart(
            "moods",
            "Callers' moods over the day (lines heard)",
            line_chart(
                "Callers' moods over the day",
                labels,
                [Series(mood, values) for mood, values in moods.items()],
            ),
            MOODS,
        ),
        Chart(
            "alerts",
            "Alerts per queue today",
            bar_chart(
                "Alerts per queue today",
                queues,
                Series("alerts", [float(alert_queues[q]) for q in queues]),
            ),
        ),
        Chart(
            "handled",
            "Calls handled per agent today",
            bar_chart(
                "Calls handled per agent today",
                agents,
                Series("calls", [float(handled[a]) for a in agents]),
            ),
        ),
    ]
