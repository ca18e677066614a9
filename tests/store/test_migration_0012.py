"""Migration 0012 (trunks.priority, queues.callback_offer) matches the models and goes back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from store.db import Database
from store.migrate import alembic_config, upgrade
from store.models import Base, Queue, Trunk

COLUMNS = {("trunks", "priority"), ("queues", "callback_offer")}


def _ours(diff: object) -> bool:
    text = repr(diff)
    return any(table in text and column in text for table, column in COLUMNS)


def _columns(db: Database, table: str) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns(table)}


def test_migration_0012_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if _ours(d)] == []
    with db.session() as session:  # rows made before keep working: the defaults
        session.add_all([Trunk(name="t", registrar="192.0.2.1", username="u"),
                         Queue(name="q")])
    with db.session() as session:
        trunk = session.query(Trunk).one()
        queue = session.query(Queue).one()
        assert (trunk.priority, queue.callback_offer) == (10, True)
    db.dispose()
    command.downgrade(alembic_config(url), "0010")
    db = Database(url)
    assert "priority" not in _columns(db, "trunks")
    assert "callback_offer" not in _columns(db, "queues")
    db.dispose()
    upgrade(url)
