"""The console as `centralino console` serves it (waitress): 200 open browser streams leave
the sign-in page answering; beyond the configured streams the console answers 503, a newer
stream of a session closes its older one, and streams of browsers that left are released."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.testing.console_process import ConsoleProcess, RawStream
from tests.console.conftest import TEST_PASSWORD_COST, copy_of

STREAMS = 200


@pytest.fixture
def console(tmp_path: Path, seeded_template) -> Iterator[ConsoleProcess]:  # type: ignore[no-untyped-def]
    db, credentials = copy_of(seeded_template, tmp_path / "console.sqlite")
    db.dispose()
    process = ConsoleProcess(
        tmp_path,
        db.url,
        {
            "password_cost": [TEST_PASSWORD_COST.n, TEST_PASSWORD_COST.r, TEST_PASSWORD_COST.p],
            "sse_max_streams": STREAMS,
            "sse_streams_per_session": 1,
            "sse_keepalive_seconds": 1.0,
            "request_threads": 8,
        },
    )
    process.credentials = credentials  # type: ignore[attr-defined]
    process.start()
    yield process
    process.stop()


def browsers(console: ConsoleProcess) -> int:
    status, _, body = console.get("/health")
    assert status == 200
    return int(json.loads(body)["browsers"])


def test_two_hundred_open_streams_leave_sign_in_answering(console: ConsoleProcess) -> None:
    password = console.credentials.console["alice"]  # type: ignore[attr-defined]
    cookies = [console.sign_in("alice", password) for _ in range(STREAMS + 1)]
    streams = [RawStream(console.port, cookie) for cookie in cookies[:STREAMS]]
    try:
        for stream in streams:
            stream.read_until(b"retry: ")
            assert stream.status == 200
        assert browsers(console) == STREAMS
        # The sign-in page and signed-in pages still answer (each request is bounded by its
        # timeout: a console out of threads would not answer at all).
        status, _, body = console.get("/login", timeout=15)
        assert status == 200 and 'name="password"' in body
        assert console.get("/agent/", cookie=cookies[-1], timeout=15)[0] == 200
        # Beyond the configured streams: refused at once, with a hint when to retry.
        extra = RawStream(console.port, cookies[-1])
        extra.read_until(b"\r\n\r\n")
        assert extra.status == 503 and b"Retry-After: 15" in extra.received
        extra.close()
        # A session's newer stream closes its older one (one per session here).
        newer = RawStream(console.port, cookies[0])
        newer.read_until(b"retry: ")
        assert newer.status == 200
        assert b'"reason":"superseded"' in streams[0].read_until(b"superseded")
        streams[0].close()
        streams[0] = newer
        assert browsers(console) == STREAMS
    finally:
        for stream in streams:
            stream.close()
    # Browsers that left are released within a keepalive or two (polled, with a deadline).
    deadline = time.monotonic() + 20
    while browsers(console) > 0:
        assert time.monotonic() < deadline, f"{browsers(console)} streams never released"
        time.sleep(0.2)
