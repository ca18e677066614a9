"""The analytics on PostgreSQL: migration 0008 down and up, a call analysed, the report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect

from analytics.reports import Scope, build_report
from analytics.runner import catch_up
from store.analytics_tables import CallAnalytics
from store.db import Database
from store.migrate import alembic_config, upgrade
from tests.analytics.scripted import DAY, people, scripted_call
from tests.analytics.test_stored import LINES, TABLES
from tests.harness.parts import require
from tests.harness.postgres import running_postgres


def test_analytics_on_postgresql() -> None:
    require("postgresql")
    with running_postgres() as url:
        upgrade(url)
        command.downgrade(alembic_config(url), "0006")
        db = Database(url)
        assert not TABLES & set(inspect(db.engine).get_table_names())
        db.dispose()
        upgrade(url)
        db = Database(url)
        ids = people(db)
        scripted_call(db, "pg-1", DAY, ids["anna"], ids["carla"], LINES, mood=(-0.5, 0.3))
        scripted_call(db, "pg-2", DAY + timedelta(days=2), ids["anna"], ids["carla"], LINES)
        assert catch_up(db, grace=0) == 2
        with db.session() as session:
            row = session.get(CallAnalytics, "pg-1")
            assert row is not None and row.caller_interruptions == 1
            assert row.detail["silences"] == [[30.0, 34.0]]
            (anna,), total = build_report(session, "agent", DAY, DAY + timedelta(days=3),
                                          Scope())
        assert (anna.calls, anna.fcr_percent, anna.relationship_percent) == (2, 50.0, 100.0)
        assert anna.mood_change == pytest.approx(0.8) and total.calls == 2
        db.dispose()
