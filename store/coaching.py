"""Coaching marks in the store: a supervisor marks a transcript line of a call with a note,
and the call's agent reads the marks of their own calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.db import Database
from store.models import Call
from store.survey_tables import CoachingMark

NOTE_LIMIT = 2000


class CoachingError(ValueError):
    """A mark that cannot be made (no such call or line, no agent on the call, no note)."""


def mark(db: Database, call_id: str, line: int, note: str, supervisor_id: int) -> int:
    """Mark transcript line *line* of *call_id* for the call's agent; the new mark's id."""
    note = note.strip()
    if not note or len(note) > NOTE_LIMIT:
        raise CoachingError(f"a note is 1 to {NOTE_LIMIT} characters")
    with db.session() as session:
        call = session.get(Call, call_id)
        if call is None or call.agent_id is None:
            raise CoachingError("no such call with an agent")
        lines = call.transcript or []
        if not 0 <= line < len(lines):
            raise CoachingError("no such transcript line")
        entry = lines[line] if isinstance(lines[line], dict) else {}
        row = CoachingMark(
            call_id=call_id,
            agent_id=call.agent_id,
            supervisor_id=supervisor_id,
            line=line,
            speaker=str(entry.get("speaker", ""))[:16],
            words=str(entry.get("text", ""))[:NOTE_LIMIT],
            note=note,
        )
        session.add(row)
        session.flush()
        return row.id


def _marks(db: Database, where: Any, *order: Any) -> list[CoachingMark]:
    with db.session() as session:
        rows = list(session.scalars(select(CoachingMark).where(where).order_by(*order)))
        session.expunge_all()
    return rows


def marks_for_agent(db: Database, agent_id: int) -> list[CoachingMark]:
    """The marks on *agent_id*'s calls, newest first (detached, read-only)."""
    return _marks(db, CoachingMark.agent_id == agent_id,
                  CoachingMark.created_at.desc(), CoachingMark.id.desc())


def marks_for_call(db: Database, call_id: str) -> list[CoachingMark]:
    """The marks on one call, by transcript line (detached, read-only)."""
    return _marks(db, CoachingMark.call_id == call_id, CoachingMark.line, CoachingMark.id)


def marks_by_supervisor(db: Database, supervisor_id: int) -> list[CoachingMark]:
    """The marks *supervisor_id* made, newest first (detached, read-only)."""
    return _marks(db, CoachingMark.supervisor_id == supervisor_id,
                  CoachingMark.created_at.desc(), CoachingMark.id.desc())
