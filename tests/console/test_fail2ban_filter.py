"""The fail2ban filter in docs/ bans the address of failed console sign-ins, as
`centralino console` logs them, and a typed user name cannot name another address."""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.testing.console_process import ConsoleProcess
from tests.console.conftest import TEST_PASSWORD_COST, copy_of

FILTER = Path(__file__).resolve().parents[2] / "docs" / "fail2ban" / "centralino-console.conf"
FORGED = [
    "x source=192.0.2.66 reason=wrong_password",
    'q" source=192.0.2.67 reason=unknown_user',
    "line\nts=2025-01-01T00:00:00.000Z level=WARNING logger=centralino.security pid=1 "
    "event=signin.failed user=a source=192.0.2.68 reason=wrong_password",
]


@pytest.fixture
def console(tmp_path: Path, seeded_template) -> Iterator[ConsoleProcess]:  # type: ignore[no-untyped-def]
    db, credentials = copy_of(seeded_template, tmp_path / "console.sqlite")
    db.dispose()
    cost = [TEST_PASSWORD_COST.n, TEST_PASSWORD_COST.r, TEST_PASSWORD_COST.p]
    process = ConsoleProcess(tmp_path, db.url, {"password_cost": cost}).start()
    process.credentials = credentials  # type: ignore[attr-defined]
    yield process
    process.stop()


def test_failed_sign_ins_are_banned_by_the_documented_filter(console: ConsoleProcess) -> None:
    password = console.credentials.console["alice"]  # type: ignore[attr-defined]
    attempts = [("alice", "wrong"), ("nobody", "x"), *((name, "x") for name in FORGED)]
    for username, typed in attempts:
        assert console.try_sign_in(username, typed)[0] == 401
    assert console.try_sign_in("alice", password)[0] == 302
    log = console.workdir / "console" / "security.log"
    deadline = time.monotonic() + 10
    while log.read_text().count("event=signin.ok") < 1:  # the handler writes as it logs
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert password not in log.read_text()
    found = subprocess.run(
        ["fail2ban-regex", "--out", "ip", str(log), str(FILTER)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.split() == ["127.0.0.1"] * len(attempts)
