"""What supervisors do with alerts and watched phrases, and an agent's raised hand.

Validation and writes live here, not in the views: acknowledge an alert (once; who and when
are kept), raise a hand from the desk (an alert of kind ``raise_hand`` on the agent's call),
and the watched phrase lists per locale (supervisors and admins edit them; the workers re-read
them within seconds, live calls included).
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select, update

from store.db import Database, changed_rows
from store.models import Agent, utcnow
from store.supervision import AlertRow, WatchedPhrase

LOCALE = re.compile(r"^[a-z]{2}(?:-[A-Z]{2})?$")
MAX_PHRASE = 120


class BadPhrase(ValueError):
    """A phrase or locale the list does not take (the page's 400)."""


def acknowledge(db: Database, alert_id: int, supervisor_id: int) -> bool:
    """Mark the alert seen; False when there is no such alert or it was acknowledged."""
    with db.session() as session:
        return (
            changed_rows(
                session,
                update(AlertRow)
                .where(AlertRow.id == alert_id, AlertRow.acknowledged_at.is_(None))
                .values(acknowledged_at=utcnow(), acknowledged_by=supervisor_id),
            )
            == 1
        )


def raise_hand(db: Database, agent: Agent, call_id: str | None, note: str = "") -> int:
    """The agent asks a supervisor for help (on their call, if any): a stored alert."""
    text = " ".join(note.split())[:200]
    with db.session() as session:
        row = AlertRow(
            call_id=call_id or "",
            kind="raise_hand",
            reason=f"{agent.name} asks for help" + (f": {text}" if text else ""),
            words=[],
            detail={"note": text},
            agent_id=agent.id,
        )
        session.add(row)
        session.flush()
        return row.id


def phrases(db: Database) -> dict[str, list[dict[str, object]]]:
    """Every watched phrase by locale: ``{locale: [{"id", "phrase"}]}``."""
    with db.session() as session:
        rows = session.scalars(
            select(WatchedPhrase).order_by(WatchedPhrase.locale, WatchedPhrase.phrase)
        ).all()
    found: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        found.setdefault(row.locale, []).append({"id": row.id, "phrase": row.phrase})
    return found


def add_phrase(db: Database, locale: str, phrase: str, added_by: int) -> int:
    locale, phrase = locale.strip(), " ".join(phrase.split())
    if not LOCALE.match(locale):
        raise BadPhrase("a locale is two letters, such as en, it or ko")
    if not phrase or len(phrase) > MAX_PHRASE:
        raise BadPhrase(f"a phrase has 1 to {MAX_PHRASE} characters")
    with db.session() as session:
        existing = session.scalars(
            select(WatchedPhrase).where(
                WatchedPhrase.locale == locale, WatchedPhrase.phrase == phrase
            )
        ).first()
        if existing is not None:
            return existing.id
        row = WatchedPhrase(locale=locale, phrase=phrase, added_by=added_by)
        session.add(row)
        session.flush()
        return row.id


def remove_phrase(db: Database, phrase_id: int) -> bool:
    with db.session() as session:
        removed = changed_rows(session, delete(WatchedPhrase).where(WatchedPhrase.id == phrase_id))
        return removed == 1
