"""Migration 0013 (Kamailio's pua table for busy-lamp fields) matches its declaration, goes up
and down, and leaves the other Kamailio tables' versions alone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from store.db import Database
from store.kamailio_tables import KAMAILIO_TABLE_VERSIONS, version
from store.migrate import alembic_config, upgrade
from store.models import Base


def _versions(db: Database) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(version.c.table_name, version.c.table_version)).all()
    return {name: number for name, number in rows}


def test_migration_0013_adds_the_pua_table_and_its_version_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    assert "pua" in inspect(db.engine).get_table_names()
    assert _versions(db)["pua"] == 7
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if "pua" in repr(d)] == []
    db.dispose()

    command.downgrade(alembic_config(url), "0006")
    db = Database(url)
    assert "pua" not in inspect(db.engine).get_table_names()
    assert _versions(db) == KAMAILIO_TABLE_VERSIONS
    db.dispose()
    upgrade(url)  # and up again
    db = Database(url)
    assert _versions(db)["pua"] == 7
    db.dispose()
