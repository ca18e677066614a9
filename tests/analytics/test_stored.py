"""Analyses stored per call (migration 0008 both ways), the catch-up runner, and the reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from analytics.reports import COLUMNS, Scope, build_report
from analytics.runner import analyse_call, catch_up, main, pending_calls
from store.analytics_tables import CallAnalytics, CallSummary
from store.db import Database
from store.migrate import alembic_config, upgrade
from tests.analytics.scripted import DAY, people, scripted_call

TABLES = {"call_analytics", "call_summaries"}


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    return Database(url)


def test_migration_0008_goes_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()
    command.downgrade(alembic_config(url), "0006")
    db = Database(url)
    assert not TABLES & set(inspect(db.engine).get_table_names())
    db.dispose()
    upgrade(url)


LINES = [
    ("agent", 10.0, 14.0, "good morning how can I help"),
    ("caller", 14.5, 20.0, "my bill is wrong again this month"),
    ("agent", 19.0, 19.5, "okay"),
    ("agent", 21.0, 28.0, "I understand let me check your bill"),
    ("caller", 26.0, 30.0, "it was forty euros more"),
    ("agent", 34.0, 40.0, "thank you I have corrected it"),
]


def test_a_call_is_analysed_and_summarised_once_ended(db: Database) -> None:
    ids = people(db)
    scripted_call(db, "call-1", DAY, ids["anna"], ids["carla"], LINES, wrap_up="resolved",
                  mood=(-0.5, 0.3))
    assert analyse_call(db, "call-1") and not analyse_call(db, "no-such-call")
    with db.session() as session:
        row = session.get(CallAnalytics, "call-1")
        summary = session.get(CallSummary, "call-1")
        assert row is not None and summary is not None
        assert (row.caller_interruptions, row.agent_interruptions) == (1, 0)
        assert row.long_silences == 1 and row.detail["silences"] == [[30.0, 34.0]]
        assert row.agent_talk_ratio == pytest.approx(17.5 / (17.5 + 9.5), abs=1e-3)
        assert (row.mood_start, row.mood_end, row.queue) == (-0.5, 0.3, "support")
        assert summary.reason == "my bill is wrong again"
        assert summary.text.endswith("Note: explained the bill. Wrap up: resolved.")
        assert row.cpu_seconds >= 0


def test_the_runner_catches_up_on_ended_calls_and_later_notes(db: Database) -> None:
    ids = people(db)
    scripted_call(db, "call-1", DAY, ids["anna"], ids["carla"], LINES)
    scripted_call(db, "call-2", DAY, ids["bruno"], ids["dario"], LINES)
    assert pending_calls(db, grace=0) == ["call-1", "call-2"]
    assert catch_up(db, grace=0) == 2 and pending_calls(db, grace=0) == []
    from store.models import Interaction, utcnow

    with db.session() as session:  # the agent's wrap-up arrives after the analysis
        session.add(Interaction(customer_id=ids["carla"], agent_id=ids["anna"], call_id="call-1",
                                at=utcnow() + timedelta(seconds=1), outcome="callback"))
    assert pending_calls(db, grace=0) == ["call-1"]


def test_the_runner_command_analyses_what_it_is_told(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = people(db)
    scripted_call(db, "call-1", DAY, ids["anna"], ids["carla"], LINES)
    monkeypatch.setenv("CENTRALINO_DATABASE_URL", str(db.engine.url))
    assert main(["--call", "call-1"]) == 0
    assert main(["--call", "nothing-here"]) == 1
    assert "no ended call nothing-here" in capsys.readouterr().out
    assert main(["--grace", "0"]) == 0 and "analysed 0 calls" in capsys.readouterr().out


def report_calls(db: Database) -> dict[str, int]:
    ids = people(db)
    # Carla calls twice in two days (the first is not a first-contact resolution) and reaches
    # Anna both times (a relationship hit); Dario once, to Bruno.
    scripted_call(db, "c1", DAY, ids["anna"], ids["carla"], LINES, mood=(-0.5, 0.3))
    scripted_call(db, "c2", DAY + timedelta(days=1), ids["anna"], ids["carla"], LINES,
                  duration=90.0)
    scripted_call(db, "c3", DAY, ids["bruno"], ids["dario"], LINES[:2], duration=40.0,
                  queue="billing")
    catch_up(db, grace=0)
    return ids


def test_reports_per_agent_queue_and_day(db: Database) -> None:
    ids = report_calls(db)
    since, until = DAY - timedelta(days=1), DAY + timedelta(days=3)
    with db.session() as session:
        rows, total = build_report(session, "agent", since, until, Scope())
        by_queue, _ = build_report(session, "queue", since, until, Scope())
        by_day, _ = build_report(session, "day", since, until, Scope())
        own, _ = build_report(session, "agent", since, until,
                              Scope(agent_ids=frozenset({ids["bruno"]})))
    anna, bruno = rows
    assert (anna.key, anna.calls, anna.answered) == ("Anna Agent", 2, 2)
    assert anna.handle_seconds == pytest.approx((50 + 80) / 2)
    assert anna.fcr_percent == 50.0 and bruno.fcr_percent == 100.0
    assert anna.relationship_percent == 100.0 and bruno.relationship_percent is None
    assert anna.mood_change == pytest.approx(0.8) and anna.csat is None
    assert anna.cells()[COLUMNS.index("CSAT")] == "—"
    assert [r.key for r in by_queue] == ["billing", "support"]
    assert [(r.key, r.calls) for r in by_day] == [("2026-03-02", 2), ("2026-03-03", 1)]
    assert total.calls == 3 and [r.key for r in own] == ["Bruno Agent"]
