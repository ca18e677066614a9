"""One call's page (both sides' transcript with times, its measures, CSAT and summary) where a
supervisor marks a line for coaching, and the coaching page where each person reads the marks.

Who opens a call: its agent, a supervisor whose queues it belongs to (every call when they serve
no queue, as on the reports), an admin. Who marks: supervisors and admins with that access;
agents never (403). A call outside one's reach is 404, so its existence is not told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from analytics.facts import epoch, utterances_of
from console.auth.roles import requires
from console.extensions import database
from console.reports import bp
from console.reports.views import READERS, scope_of
from store import coaching
from store.analytics_tables import CallAnalytics, CallSummary
from store.models import Agent, Call, Customer, Role
from store.survey_tables import CallSurvey, CoachingMark

log = logging.getLogger(__name__)

MARKERS = (Role.SUPERVISOR, Role.ADMIN)
CALL_ID_LIMIT = 64


@dataclass(frozen=True)
class Line:
    """One transcript line as the page shows it: its index (what a mark names), time, words."""

    index: int
    at: str
    speaker: str
    text: str
    marks: list[CoachingMark]


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def reachable(agent: Agent, call: Call, analysis: CallAnalytics | None) -> bool:
    """Whether *agent* may open *call*: their own, or within their reports' scope."""
    return call.agent_id == agent.id or (
        agent.role in MARKERS and scope_of(agent).allows(call, analysis)
    )


def may_mark(agent: Agent, call: Call) -> bool:
    return agent.role in MARKERS and call.agent_id is not None


def lines_of(call: Call, marks: list[CoachingMark]) -> list[Line]:
    """Every stored transcript line with its time from the start of the call."""
    origin = epoch(call.started_at)
    answered = epoch(call.answered_at) - origin if call.answered_at else 0.0
    by_line: dict[int, list[CoachingMark]] = {}
    for mark in marks:
        by_line.setdefault(mark.line, []).append(mark)
    shown = []
    for index, entry in enumerate(call.transcript or []):
        if not isinstance(entry, dict):
            continue
        placed = utterances_of([entry], origin, answered)
        shown.append(
            Line(
                index,
                clock(placed[0].start if placed else None),
                str(entry.get("speaker") or "caller"),
                str(entry.get("text") or ""),
                by_line.get(index, []),
            )
        )
    return shown


def figures_of(analysis: CallAnalytics | None) -> list[tuple[str, str]]:
    """The call's measures in the page's words (definitions: docs/analytics.md)."""
    if analysis is None:
        return []

    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f} s"

    def score(value: float | None) -> str:
        return "—" if value is None else f"{value:+.2f}"

    ratio = analysis.agent_talk_ratio
    return [
        ("Handle time", seconds(analysis.handle_seconds)),
        (
            "Talk time, agent / caller",
            f"{analysis.agent_talk_seconds:.1f} s / {analysis.caller_talk_seconds:.1f} s",
        ),
        ("Agent talk ratio", "—" if ratio is None else f"{100 * ratio:.0f} %"),
        ("Non-talk time", seconds(analysis.non_talk_seconds)),
        (
            "Interruptions, by caller / by agent",
            f"{analysis.caller_interruptions} / {analysis.agent_interruptions}",
        ),
        (
            "Silences over 3 s",
            f"{analysis.long_silences} (longest {analysis.longest_silence_seconds:.1f} s)",
        ),
        ("Hold", seconds(analysis.hold_seconds)),
        ("Time to a human", seconds(analysis.seconds_to_human)),
        (
            "Caller's mood, greeting → end",
            f"{score(analysis.mood_start)} → {score(analysis.mood_end)}",
        ),
        ("Asked twice", str(analysis.asked_twice)),
        ("Empathy / courtesy phrases", f"{analysis.empathy_phrases} / {analysis.courtesy_phrases}"),
    ]


def survey_text(survey: CallSurvey | None) -> str:
    if survey is None:
        return "not surveyed"
    if survey.answered_at is None:
        return "asked, not answered"
    solved = {True: "solved", False: "not solved", None: "solved not answered"}[survey.solved]
    score = "—" if survey.csat is None else f"{survey.csat}/5"
    return f"CSAT {score}, {solved} (by {survey.channel or 'key'})"


def opened(
    call_id: str,
) -> tuple[
    Call, CallAnalytics | None, CallSummary | None, CallSurvey | None, str | None, str | None
]:
    """The call and what is stored about it, or 404 when it is not the signed-in person's."""
    if len(call_id) > CALL_ID_LIMIT:
        abort(404)
    with database().session() as session:
        call = session.get(Call, call_id)
        analysis = session.get(CallAnalytics, call_id)
        if call is None or not reachable(g.agent, call, analysis):
            abort(404, "no such call of yours")
        summary = session.get(CallSummary, call_id)
        survey = session.scalar(select(CallSurvey).where(CallSurvey.call_id == call_id))
        agent = session.get(Agent, call.agent_id) if call.agent_id else None
        customer = session.get(Customer, call.customer_id) if call.customer_id else None
        session.expunge_all()
    return (
        call,
        analysis,
        summary,
        survey,
        agent.name if agent else None,
        customer.name if customer else None,
    )


@bp.get("/calls/<call_id>")
@requires(*READERS)
def call_page(call_id: str) -> ResponseReturnValue:
    call, analysis, summary, survey, agent_name, customer_name = opened(call_id)
    marks = coaching.marks_for_call(database(), call.id)
    with database().session() as session:
        who = select(Agent.id, Agent.name).where(Agent.id.in_({m.supervisor_id for m in marks}))
        names: dict[int, str] = {row.id: row.name for row in session.execute(who)}
    return render_template(
        "reports/call.html",
        call=call,
        agent_name=agent_name,
        customer_name=customer_name,
        lines=lines_of(call, marks),
        figures=figures_of(analysis),
        queue=(analysis.queue if analysis else None) or (call.call_data or {}).get("queue"),
        duration=clock(epoch(call.ended_at) - epoch(call.started_at)) if call.ended_at else None,
        summary=summary,
        survey=survey_text(survey),
        may_mark=may_mark(g.agent, call),
        supervisors=names,
        note_limit=coaching.NOTE_LIMIT,
    )


@bp.post("/calls/<call_id>/marks")
@requires(*READERS)
def mark_line(call_id: str) -> ResponseReturnValue:
    call, *_ = opened(call_id)
    if not may_mark(g.agent, call):
        abort(403, "only supervisors and admins mark calls")
    raw_line = request.form.get("line", "")
    if not raw_line.isdigit() or len(raw_line) > 6:
        abort(400, "line is the transcript line's number")
    try:
        mark_id = coaching.mark(
            database(), call.id, int(raw_line), request.form.get("note", ""), g.agent.id
        )
    except coaching.CoachingError as refused:
        abort(400, str(refused))
    log.info(
        "event=coaching.marked call=%s line=%s mark=%s by=%s",
        call.id,
        raw_line,
        mark_id,
        g.agent.id,
    )
    flash(f"Line {int(raw_line) + 1} marked for {call.id}'s agent.")
    return redirect(url_for("reports.call_page", call_id=call.id, _anchor=f"line-{raw_line}"))


def _listed(marks: list[CoachingMark]) -> list[dict[str, Any]]:
    """Marks with the names and call times the page shows."""
    if not marks:
        return []
    with database().session() as session:
        people = {m.agent_id for m in marks} | {m.supervisor_id for m in marks}
        who = select(Agent.id, Agent.name).where(Agent.id.in_(people))
        names: dict[int, str] = {row.id: row.name for row in session.execute(who)}
        calls = select(Call.id, Call.started_at).where(Call.id.in_({m.call_id for m in marks}))
        started: dict[str, datetime] = {row.id: row.started_at for row in session.execute(calls)}
    return [
        {
            "mark": m,
            "agent": names.get(m.agent_id, "—"),
            "supervisor": names.get(m.supervisor_id, "—"),
            "call_at": f"{started[m.call_id]:%Y-%m-%d %H:%M}" if m.call_id in started else "—",
        }
        for m in marks
    ]


@bp.get("/coaching")
@requires(*READERS)
def coaching_page() -> ResponseReturnValue:
    db = database()
    received = _listed(coaching.marks_for_agent(db, g.agent.id))
    made = (
        _listed(coaching.marks_by_supervisor(db, g.agent.id)) if g.agent.role in MARKERS else None
    )
    return render_template("reports/coaching.html", received=received, made=made)


__all__ = ["call_page", "coaching_page", "mark_line"]
