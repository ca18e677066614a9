"""The supervisor's floor, read from the database: queues, agents, live calls and alerts.

Everything comes from tables the workers write (``calls``, ``queue_entries``, ``agents``,
``transcript_lines``, ``alerts``, ``monitor_sessions``), so any console process shows every
worker's calls. `snapshot` is one consistent read; the floor's stream sends it whenever it
changes. Caller text stays data: the page renders it with ``textContent``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Agent, AgentState, Call, CallState, Customer, Queue, QueueEntry, utcnow
from store.supervision import AlertRow, MonitorSession, TranscriptLine

#: A caller answered within this many seconds of joining the line counts towards service level.
SERVICE_LEVEL_SECONDS = 20
LAST_LINES = 3
ALERTS_SHOWN = 50


def _seconds(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds") + "Z"


def queues(session: Session, now: datetime) -> list[dict[str, Any]]:
    names = set(session.scalars(select(Queue.name)).all())
    hour_ago = now - timedelta(hours=1)
    entries = session.scalars(
        select(QueueEntry).where(
            (QueueEntry.state == "waiting") | (QueueEntry.enqueued_at >= hour_ago)
        )
    ).all()
    names |= {entry.queue for entry in entries}
    rows = []
    for name in sorted(names):
        mine = [entry for entry in entries if entry.queue == name]
        waiting = [e for e in mine if e.state == "waiting" and e.kind == "call"]
        hour = [e for e in mine if e.kind == "call" and e.enqueued_at >= hour_ago]
        within = [
            e
            for e in hour
            if e.state == "connected"
            and (e.updated_at - e.enqueued_at).total_seconds() <= SERVICE_LEVEL_SECONDS
        ]
        counted = [
            e
            for e in hour
            if e.state in ("connected", "abandoned")
            or (now - e.enqueued_at).total_seconds() > SERVICE_LEVEL_SECONDS
        ]
        oldest = min((e.enqueued_at for e in waiting), default=None)
        rows.append(
            {
                "name": name,
                "waiting": len(waiting),
                "longest_wait_seconds": _seconds(oldest, now) or 0,
                "service_level": round(100 * len(within) / len(counted)) if counted else None,
                "callbacks_pending": sum(
                    1 for e in mine if e.kind == "callback" and e.state == "waiting"
                ),
            }
        )
    return rows


def agents(session: Session, now: datetime) -> list[dict[str, Any]]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today: dict[int, int] = {
        int(agent_id): int(count)
        for agent_id, count in session.execute(
            select(Call.agent_id, func.count(Call.id))
            .where(Call.bridged_at >= midnight, Call.agent_id.is_not(None))
            .group_by(Call.agent_id)
        ).all()
        if agent_id is not None
    }
    people = session.scalars(
        select(Agent).where(Agent.role.in_(["agent", "supervisor"])).order_by(Agent.name)
    ).all()
    return [
        {
            "id": agent.id,
            "name": agent.name,
            "state": agent.state.value,
            "seconds_in_state": _seconds(agent.state_since, now),
            "current_call": agent.claimed_by_call
            if agent.state in (AgentState.RINGING, AgentState.ON_CALL)
            else None,
            "calls_today": int(today.get(agent.id, 0)),
        }
        for agent in people
    ]


def live_calls(session: Session, now: datetime) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Call, Customer.name, Agent.name)
        .outerjoin(Customer, Call.customer_id == Customer.id)
        .outerjoin(Agent, Call.agent_id == Agent.id)
        .where(Call.state != CallState.ENDED)
        .order_by(Call.started_at)
    ).all()
    ids = [call.id for call, _c, _a in rows]
    lines: dict[str, list[TranscriptLine]] = {call_id: [] for call_id in ids}
    if ids:
        for line in session.scalars(
            select(TranscriptLine)
            .where(TranscriptLine.call_id.in_(ids))
            .order_by(TranscriptLine.id.desc())
        ):
            lines[line.call_id].append(line)
        queued: dict[str, str] = {
            call_id: name
            for call_id, name in session.execute(
                select(QueueEntry.call_id, QueueEntry.queue).where(QueueEntry.call_id.in_(ids))
            ).all()
        }
        monitors = {
            m.call_id: m
            for m in session.scalars(
                select(MonitorSession).where(
                    MonitorSession.call_id.in_(ids), MonitorSession.ended_at.is_(None)
                )
            )
        }
    else:
        queued, monitors = {}, {}  # nothing live
    calls = []
    for call, customer, agent in rows:
        said = lines[call.id]
        moods = [line for line in said if line.speaker == "caller" and line.mood]
        data = call.call_data or {}
        mood = moods[0].mood if moods else data.get("mood")
        monitor = monitors.get(call.id)
        calls.append(
            {
                "id": call.id,
                "state": call.state.value,
                "caller": call.caller,
                "customer": customer,
                "agent": agent,
                "queue": data.get("queue") or queued.get(call.id),
                "duration_seconds": _seconds(call.started_at, now),
                "mood": mood if isinstance(mood, str) else None,
                "lines": [
                    {"speaker": line.speaker, "text": line.text}
                    for line in reversed(said[:LAST_LINES])
                ],
                "monitor": None
                if monitor is None
                else {"mode": (monitor.modes or [{}])[-1].get("mode"), "id": monitor.id},
            }
        )
    return calls


def alerts(session: Session, limit: int = ALERTS_SHOWN) -> list[dict[str, Any]]:
    rows = session.scalars(select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)).all()
    return [
        {
            "id": alert.id,
            "call_id": alert.call_id,
            "queue": alert.queue,
            "kind": alert.kind,
            "reason": alert.reason,
            "words": list(alert.words or []),
            "at": _iso(alert.at),
            "acknowledged": alert.acknowledged_at is not None,
        }
        for alert in rows
    ]


def snapshot(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """The whole floor as plain data (what the page renders and the stream sends)."""
    now = now or utcnow()
    return {
        "queues": queues(session, now),
        "agents": agents(session, now),
        "calls": live_calls(session, now),
        "alerts": alerts(session),
    }
