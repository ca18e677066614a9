"""Engines and sessions: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL by URL."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from store.settings import Settings

_SQLITE_BUSY_MS = 10_000
#: What a database says when another writer held it longer than we waited (SQLite's busy
#: timeout) or chose us as a deadlock's or a serialization conflict's victim (PostgreSQL):
#: the transaction was rolled back whole, and running it again is safe.
_TRANSIENT = ("database is locked", "database table is locked", "deadlock detected",
              "could not serialize access")


def transient_write_error(error: BaseException) -> bool:
    """Whether *error* only means "another writer was in the way: try again"."""
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig if error.orig is not None else error).lower()
    return any(phrase in text for phrase in _TRANSIENT)


#: SQLite's SQLITE_FULL and PostgreSQL's disk_full (53100): the statement was not written, the
#: transaction is rolled back, and it can succeed again once space is freed.
_DISK_FULL = ("database or disk is full", "could not extend file", "no space left on device")
#: What to tell an operator, in every "disk full" message of the store's writers.
DISK_FULL_ADVICE = (
    "the disk holding the database (var/) is full: free space there (old recordings, logs, "
    "backups); nothing already stored is lost"
)


def disk_full_error(error: BaseException) -> bool:
    """Whether *error* means "no space left" for the database or a file under ``var/``."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig if error.orig is not None else error).lower()
    return any(phrase in text for phrase in _DISK_FULL)


def make_engine(database_url: str) -> Engine:
    """An engine for *database_url*; SQLite files get WAL so Kamailio and we share them."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: a file cannot go away like a server, and the ping was one more
        # statement for every session (a third of the router's statements in the simulator).
        engine = create_engine(database_url, connect_args={"timeout": _SQLITE_BUSY_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


class Database:
    """One engine plus a session factory; ``with db.session() as s:`` commits or rolls back."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine = make_engine(database_url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in one transaction (committed at the end, rolled back on an
        error): for the router's hot paths, which write rows by compare-and-set and need
        no ORM objects (a Session costs as much again as the statement)."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def changed_rows(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in *session*; how many rows it changed (1 for a won claim)."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def core(handle: Session | Connection) -> Connection:
    """The Core connection of *handle*: a Session's current one (joining its transaction),
    or the connection itself. Statements run on it skip the ORM's bookkeeping (no objects
    are loaded or synchronised), a few times cheaper for prepared compare-and-set updates."""
    return handle.connection() if isinstance(handle, Session) else handle
