"""Suite-wide guards: under CI=true a skip that is not an optional extra's fails the test (a
missing real part must never pass quietly), and every skip is listed with its reason at the
end of the run."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from tests.harness.parts import OPTIONAL_PREFIX, required_mode


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[
        None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and required_mode()) or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(
        report.longrepr)
    if not reason.startswith(("Skipped: " + OPTIONAL_PREFIX, OPTIONAL_PREFIX)):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, but only optional extras may skip: {reason}"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """An entry point a test calls in-process (`setup_logging`) points the root logger at the
    test's captured stderr, which pytest closes after the test: without this, a later thread's
    record (the edge's log pump) prints "Logging error ... I/O operation on closed file"."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section("skipped (optional extras, or parts missing outside CI)")
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        terminalreporter.write_line(f"{report.nodeid}: {reason}")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the media chain's numba kernels once, into numba's on-disk cache, before any test
    starts a worker: in a fresh clone the first worker would otherwise spend its start-up window
    compiling (about 30 s on a busy machine) and miss the harness's readiness deadline."""
    from ivr.listening import warm_up

    warm_up()
