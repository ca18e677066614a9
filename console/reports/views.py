"""The report page and its CSV: what the signed-in person may see, grouped as they asked.

Agents see their own calls, supervisors the calls of the queues they serve (every queue when
they serve none: the whole floor), admins everything. Parameters are checked, never put in SQL.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from analytics.reports import COLUMNS, GROUPINGS, REPEAT_DAYS, ReportRow, Scope, build_report
from console.auth.roles import requires
from console.charts import Series, bar_chart
from console.extensions import database
from console.reports import bp
from store.analytics_tables import CallAnalytics, CallSummary
from store.models import Agent, Call, Role

READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
LONGEST_DAYS = 366
CALLS_LISTED = 200


@dataclass(frozen=True)
class Asked:
    """The report a request asks for: grouping, first and last day, repeat window."""

    by: str
    first: date
    last: date
    repeat_days: int

    def window(self) -> tuple[datetime, datetime]:
        start = datetime(self.first.year, self.first.month, self.first.day)
        return start, start + timedelta(days=(self.last - self.first).days + 1)

    def query(self) -> dict[str, str]:
        return {"by": self.by, "from": self.first.isoformat(), "to": self.last.isoformat(),
                "repeat_days": str(self.repeat_days)}


def asked() -> Asked:
    today = date.today()
    by = request.args.get("by", "agent")
    try:
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
        first = date.fromisoformat(request.args.get("from") or (last - timedelta(6)).isoformat())
        repeat = int(request.args.get("repeat_days") or REPEAT_DAYS)
    except ValueError:
        abort(400, "dates are YYYY-MM-DD and repeat_days a whole number")
    if by not in GROUPINGS or first > last or (last - first).days > LONGEST_DAYS \
            or not 1 <= repeat <= 90:
        abort(400, "by is agent, queue or day; from <= to within a year; repeat_days 1 to 90")
    return Asked(by, first, last, repeat)


def scope_of(agent: Agent) -> Scope:
    return SCOPES[agent.role](agent)


#: who sees which calls, by role
SCOPES = {
    Role.AGENT: lambda agent: Scope(agent_ids=frozenset({agent.id})),
    Role.SUPERVISOR: lambda agent: Scope(queues=frozenset(agent.queues) or None),
    Role.ADMIN: lambda agent: Scope(),
}


def report_for(request_asked: Asked) -> tuple[list[ReportRow], ReportRow]:
    since, until = request_asked.window()
    with database().session() as session:
        return build_report(session, request_asked.by, since, until, scope_of(g.agent),
                            request_asked.repeat_days)


def calls_of(ids: list[str]) -> list[dict[str, Any]]:
    """The listed calls with their measures and summary, newest first."""
    if not ids:
        return []
    with database().session() as session:
        rows = session.execute(
            select(Call, CallAnalytics, CallSummary, Agent.name)
            .outerjoin(CallAnalytics, CallAnalytics.call_id == Call.id)
            .outerjoin(CallSummary, CallSummary.call_id == Call.id)
            .outerjoin(Agent, Agent.id == Call.agent_id)
            .where(Call.id.in_(ids[-CALLS_LISTED:]))
            .order_by(Call.started_at.desc())
        ).all()
    return [
        {
            "id": call.id, "at": f"{call.started_at:%Y-%m-%d %H:%M}", "agent": name or "—",
            "queue": (analysis.queue if analysis else None) or "—",
            "ratio": "—" if not analysis or analysis.agent_talk_ratio is None
            else f"{100 * analysis.agent_talk_ratio:.0f}",
            "interruptions": "—" if not analysis
            else f"{analysis.caller_interruptions} / {analysis.agent_interruptions}",
            "silences": "—" if not analysis else str(analysis.long_silences),
            "summary": summary.text if summary else "not analysed yet",
        }
        for call, analysis, summary, name in rows
    ]


@bp.get("/")
@requires(*READERS)
def report() -> ResponseReturnValue:
    wanted = asked()
    rows, total = report_for(wanted)
    labels = [row.key for row in rows]
    figures = {
        "Calls": Series("calls", [row.calls for row in rows]),
        "Average handle time (s)": Series("handle", [row.handle_seconds for row in rows]),
        "First-contact resolution (%)": Series("fcr", [row.fcr_percent for row in rows]),
    }
    charts = [(title, bar_chart(title, labels, series)) for title, series in figures.items()]
    return render_template(
        "reports/report.html", asked=wanted, rows=rows, total=total, columns=COLUMNS,
        charts=charts if rows else [], groupings=list(GROUPINGS),
        calls=calls_of(total.call_ids),
    )


@bp.get("/export.csv")
@requires(*READERS)
def export() -> ResponseReturnValue:
    wanted = asked()
    rows, total = report_for(wanted)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in [*rows, total]:
        writer.writerow([_safe_cell(cell) for cell in row.cells()])
    name = f"report-{wanted.by}-{wanted.first}-{wanted.last}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _safe_cell(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (an agent's name could start with =) is
    quoted as text."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@") and not _number(cell) else cell


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
