"""The worker's store thread runs a job again when another writer held the database out, in
order, and gives up at once on any other error (pure logic around `telephony.loop.Loop`)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from store.db import transient_write_error
from telephony import loop as loop_module
from telephony.loop import Loop


def locked() -> OperationalError:
    return OperationalError("UPDATE calls ...", {}, sqlite3.OperationalError("database is locked"))


def results_of(loop: Loop, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run *jobs* on the store thread; what each handed back to the loop, in order."""
    seen: list[Any] = []
    done = threading.Event()
    for job in jobs:
        loop.store(job, seen.append)
    loop.store(lambda: None, lambda _: done.set())
    while not done.is_set():
        loop.run_jobs()
        done.wait(0.01)
    loop.run_jobs()
    return seen


@pytest.fixture(autouse=True)
def quick_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_module, "STORE_RETRY_PAUSES", (0.001, 0.002))


def test_a_locked_write_is_run_again_and_keeps_its_place() -> None:
    tries = {"first": 0}

    def first() -> str:
        tries["first"] += 1
        if tries["first"] < 4:
            raise locked()
        return "first"

    assert results_of(Loop(), [first, lambda: "second"]) == ["first", "second"]
    assert tries["first"] == 4


def test_other_errors_are_not_retried() -> None:
    tries = {"n": 0}

    def broken() -> None:
        tries["n"] += 1
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: calls"))

    assert results_of(Loop(), [broken, lambda: "next"]) == ["next"]
    assert tries["n"] == 1


def test_a_writer_that_never_lets_go_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_module, "STORE_RETRY_SECONDS", 0.05)

    def forever() -> None:
        raise locked()

    assert results_of(Loop(), [forever, lambda: "next"]) == ["next"]


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("database is locked", True),
        ("deadlock detected", True),
        ("could not serialize access due to concurrent update", True),
        ("no such column: calls.speech_gaps", False),
    ],
)
def test_which_errors_are_transient(message: str, transient: bool) -> None:
    error = OperationalError("stmt", {}, sqlite3.OperationalError(message))
    assert transient_write_error(error) is transient
    assert transient_write_error(ValueError(message)) is False
