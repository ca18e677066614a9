"""The worker's store thread runs a job again when another writer held the database out or its
disk was full, in order, and gives up at once on any other error (pure logic around
`telephony.loop.Loop`)."""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from store.db import disk_full_error, transient_write_error
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


def disk_full() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database or disk is full"))


def test_a_write_refused_for_space_waits_in_order_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries = {"first": 0, "second": 0}

    def first() -> str:
        tries["first"] += 1
        if tries["first"] < 5:
            raise disk_full()
        return "first"

    def second() -> str:
        tries["second"] += 1
        if tries["second"] < 3:
            raise disk_full()
        return "second"

    with caplog.at_level("WARNING", logger="centralino.switch"):
        assert results_of(Loop(), [first, second, lambda: "third"]) == ["first", "second", "third"]
    text = caplog.text
    assert text.count("event=store.disk_full") == 2  # it filled twice
    assert text.count("event=store.disk_space_back") == 2
    assert "free space" in text and "Traceback" not in text


def test_a_disk_that_stays_full_gives_the_job_up_after_its_bound(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(loop_module, "STORE_FULL_RETRY_SECONDS", 0.05)

    def forever() -> None:
        raise disk_full()

    with caplog.at_level("WARNING", logger="centralino.switch"):
        assert results_of(Loop(), [forever, lambda: "next"]) == ["next"]
    assert "event=store.write_lost" in caplog.text


@pytest.mark.parametrize(
    ("error", "full"),
    [
        (disk_full(), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OperationalError("x", {}, Exception('could not extend file "base/1/2": No space')), True),
        (locked(), False),
        (OSError(errno.EACCES, "Permission denied"), False),
    ],
)
def test_which_errors_mean_the_disk_is_full(error: BaseException, full: bool) -> None:
    assert disk_full_error(error) is full
    assert transient_write_error(error) is False or not full
