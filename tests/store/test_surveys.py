"""Migration 0010 (surveys and coaching marks) matches its models both ways; the survey's cap,
its answers and `csat_by_call`; coaching marks reach only the call's agent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from store import coaching, surveys
from store.coaching import CoachingError
from store.db import Database
from store.migrate import alembic_config, upgrade
from store.models import Agent, Base, Call, Queue, Role, utcnow

OURS = {"call_surveys", "coaching_marks"}


def _touches_ours(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", part)
            name = part if isinstance(part, str) else getattr(table, "name", None)
            if name in OURS or (name == "queues" and "survey" in repr(item)):
                return True
    return False


@pytest.fixture
def db(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    database = Database(url)
    with database.session() as session:
        session.add(Queue(name="support", survey_enabled=True, survey_cap_days=1))
        session.add(Queue(name="sales"))
        session.add(Agent(id=501, name="Ada", username="ada501", password_hash="x"))
        session.add(Agent(id=502, name="Bo", username="bo502", password_hash="x"))
        session.add(Agent(id=503, name="Sue", username="sue503", password_hash="x",
                          role=Role.SUPERVISOR))
        for n in (1, 2, 3):
            session.add(Call(id=f"c{n}", caller="+3906123", dialled="100", agent_id=501,
                             transcript=[{"speaker": "caller", "text": "my bill is wrong"},
                                         {"speaker": "agent",
                                          "text": "I am sorry, let me fix it"}]))
    yield database
    database.dispose()


def test_migration_0010_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    assert set(inspect(db.engine).get_table_names()) >= OURS
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if _touches_ours(d)] == []
    db.dispose()
    command.downgrade(alembic_config(url), "0006")
    db = Database(url)
    inspector = inspect(db.engine)
    assert not OURS & set(inspector.get_table_names())
    assert "survey_enabled" not in {c["name"] for c in inspector.get_columns("queues")}
    db.dispose()
    upgrade(url)  # and up again


def test_the_cap_keeps_a_customer_from_a_second_survey_within_its_days(db: Database) -> None:
    now = utcnow()
    assert surveys.due(db, "support", 7, "+3906123", now)
    assert not surveys.due(db, "sales", 7, "+3906123", now)  # the queue does not ask
    assert not surveys.due(db, None, 7, "+3906123", now)
    surveys.record(db, "c1", customer_id=None, caller="+3906123", agent_id=501, csat=4,
                   solved=True, channel="key", asked_at=now, answered_at=now)
    assert not surveys.due(db, "support", None, "+3906123", now)  # the same caller ID
    assert surveys.due(db, "support", None, "+3906999", now)
    assert surveys.due(db, "support", None, "+3906123", now + timedelta(days=1, seconds=1))


def test_answers_are_stored_once_and_read_back_by_call(db: Database) -> None:
    now = utcnow()
    surveys.record(db, "c1", customer_id=None, caller="+3906123", agent_id=501, csat=4,
                   solved=None, channel="key", asked_at=now, answered_at=now)
    surveys.record(db, "c1", customer_id=None, caller="+3906123", agent_id=501, csat=1,
                   solved=None, channel="key", asked_at=now, answered_at=now)  # ignored
    surveys.record(db, "c2", customer_id=None, caller="+3906123", agent_id=501, csat=None,
                   solved=None, channel=None, asked_at=now, answered_at=None)  # skipped
    with pytest.raises(ValueError):
        surveys.record(db, "c3", customer_id=None, caller="x", agent_id=None, csat=6,
                       solved=None, channel="key", asked_at=now, answered_at=now)
    with db.session() as session:
        assert surveys.csat_by_call(session, ["c1", "c2", "c3", "nope"]) == {"c1": 4}
        assert surveys.csat_by_call(session, []) == {}
    rows = surveys.surveys_by_call(db, ["c1", "c2"])
    assert rows["c2"].csat is None and rows["c2"].answered_at is None


def test_coaching_marks_go_to_the_calls_agent_only(db: Database) -> None:
    mark = coaching.mark(db, "c1", 1, "  Good apology, then action.  ", supervisor_id=503)
    assert [m.id for m in coaching.marks_for_agent(db, 501)] == [mark]
    assert coaching.marks_for_agent(db, 502) == []
    (row,) = coaching.marks_for_call(db, "c1")
    assert (row.speaker, row.words, row.note) == (
        "agent", "I am sorry, let me fix it", "Good apology, then action.")
    for line, note in ((2, "x"), (-1, "x"), (0, "   ")):
        with pytest.raises(CoachingError):
            coaching.mark(db, "c1", line, note, supervisor_id=503)
    with pytest.raises(CoachingError):
        coaching.mark(db, "missing", 0, "x", supervisor_id=503)
