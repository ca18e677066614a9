"""A full disk under ``var/``: a small tmpfs (root) is the deployment's var/, holding the SQLite
database, Kamailio's run files and the uploaded recordings, and a ballast file fills it.

What must hold: a call in progress goes on, the worker says once, clearly, that the disk is
full and what to do (no traceback per write), its records wait in memory and land when space
is freed; the console answers an upload with 507 and keeps nothing half-written; afterwards
SQLite's integrity check is ``ok`` and every row committed before is still there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.admin_tables import FlowVersion
from store.models import Call, CallLeg
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import wait_until
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.admin.test_flow_prompts import SUPPORT as SUPPORT_FLOW
from tests.console.admin.test_flow_prompts import stereo_wav
from tests.console.conftest import Deployment as ConsoleDeployment
from tests.console.conftest import console_app, seeded_database
from tests.telephony.test_switch_behind_edge import registered_agent
from tests.telephony.test_worker_faults import start_workers, support_uri

pytestmark = pytest.mark.e2e

#: Room for a migrated database, Kamailio's files and a little more; the ballast takes the rest.
TMPFS_SIZE = "48m"


class SmallDisk:
    """A tmpfs of its own (unmounted afterwards) and a ballast file that fills it."""

    def __init__(self, mountpoint: Path) -> None:
        self.path = mountpoint
        self.ballast = mountpoint / "ballast"

    def fill(self) -> None:
        """Write until the filesystem refuses (ENOSPC): not one block is left."""
        chunk = b"\0" * (1024 * 1024)
        with open(self.ballast, "ab", buffering=0) as out:
            while True:
                try:
                    out.write(chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                    chunk = chunk[: len(chunk) // 2]
                    if not chunk:
                        return

    def free(self) -> None:
        self.ballast.unlink()

    def left(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize


@contextlib.contextmanager
def small_disk(under: Path) -> Iterator[SmallDisk]:
    mountpoint = under / f"var-{uuid.uuid4().hex[:8]}"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs",
                    str(mountpoint)], check=True, capture_output=True)  # fmt: skip
    try:
        yield SmallDisk(mountpoint)
    finally:
        # lazily: a process that outlived its test must not leave the mount behind
        subprocess.run(["umount", "-l", str(mountpoint)], check=True, capture_output=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path) as mounted:
        yield mounted


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def truncate_wal(database: Path) -> None:
    """Fold the WAL into the database and empty it, so that the next write needs new blocks
    (a WAL keeps its old frames' space, and a write there would pass on a full disk)."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0


def counts(database: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        calls = connection.execute("SELECT count(*) FROM calls").fetchone()[0]
        legs = connection.execute("SELECT count(*) FROM call_legs").fetchone()[0]
        return int(calls), int(legs)


def test_a_full_disk_holds_the_call_records_in_memory_and_the_call_goes_on(
    disk: SmallDisk, tmp_path: Path
) -> None:
    settings = make_settings(disk.path, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    with running_edge(disk.path, settings=settings) as edge:
        deployment = Deployment(tmp_path, db_url=edge.settings.database_url)  # logs not on it
        try:
            full_disk_call(disk, edge, deployment, database)
        finally:
            deployment.close()
    assert integrity(database) == "ok"


def full_disk_call(
    disk: SmallDisk, edge: EdgeUnderTest, deployment: Deployment, database: Path
) -> None:
    agent = registered_agent(deployment, edge, "1002", record=False)
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    caller = deployment.phone("caller", record=False)
    call = caller.call(support_uri(edge.uri_host))
    caller.wait_for("state", call=call, state="confirmed")
    call_id = events.wait_for("bridged", timeout=20)["call_id"]
    agent_call = agent.wait_for("incoming")["call"]
    agent.wait_for("state", call=agent_call, state="confirmed")
    wait_until(lambda: len(deployment.call(call_id).legs) == 2, 10, "both legs stored")
    committed = counts(database)

    truncate_wal(database)
    disk.fill()
    assert disk.left() == 0
    wait_until(lambda: "event=heartbeat.disk_full" in worker.log(), 10, "the worker notices")
    # the heartbeat keeps failing every 0.5 s meanwhile: the call is still up, both ends
    assert not caller.seen("state", call=call, state="disconnected")
    assert not agent.seen("state", call=agent_call, state="disconnected")

    caller.hangup(call)  # the CDR's close, the legs' ends, the agent's wrap-up: all held
    caller.wait_for("state", call=call, state="disconnected")
    agent.wait_for("state", call=agent_call, state="disconnected", timeout=5)
    wait_until(lambda: "event=store.disk_full" in worker.log(), 10, "the store thread notices")
    assert deployment.call(call_id).ended_at is None  # not written: the disk is full
    held = worker.log()
    assert held.count("event=store.disk_full") == 1, held
    assert held.count("event=heartbeat.disk_full") == 1, held
    assert "Traceback" not in held, held
    assert "free space" in held

    disk.free()
    row = deployment.ended_call(call_id, timeout=20)  # the held records land, in order
    assert row.outcome == "completed" and row.agent_id is not None
    assert all(leg.ended_at is not None for leg in row.legs), row.legs
    wait_until(lambda: "event=store.disk_space_back" in worker.log(), 5, "space back logged")
    wait_until(lambda: "event=heartbeat.disk_space_back" in worker.log(), 5, "beats again")
    assert integrity(database) == "ok"
    calls, legs = counts(database)
    assert calls >= committed[0] and legs >= committed[1]
    with deployment.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == committed[0]
        assert session.scalar(select(func.count()).select_from(CallLeg)) == committed[1]


def test_an_upload_on_a_full_disk_gets_507_and_leaves_nothing_half_written(
    disk: SmallDisk, tmp_path: Path
) -> None:
    database = disk.path / "console.sqlite"
    db, credentials = seeded_database(database)
    app = console_app(db, VAR_DIR=str(disk.path))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the console's own error page, as served
    deployment = ConsoleDeployment(db, credentials, app)
    try:
        headers = bearer(make_token(deployment))
        client = app.test_client()
        saved = client.post("/api/admin/flows/", headers=headers, json={"text": SUPPORT_FLOW})
        assert saved.status_code == 201, saved.text
        flow_id = saved.json["id"]
        with db.session() as session:
            before = session.scalar(select(func.count()).select_from(FlowVersion)) or 0
        source = stereo_wav(tmp_path / "greeting.wav", seconds=20)  # ~310 kB once at 8 kHz

        truncate_wal(database)
        disk.fill()
        answer = client.post(f"/api/admin/flows/{flow_id}/recordings", headers=headers,
                             data={"prompt": "greeting", "locale": "en",
                                   "file": (source.open("rb"), "greeting.wav")},
                             content_type="multipart/form-data")  # fmt: skip
        assert answer.status_code == 507, answer.text
        assert "disk" in answer.json["error"] and "full" in answer.json["error"]
        assert "free space" in answer.json["error"]
        recordings = disk.path / "recordings"
        assert not recordings.exists() or not any(p.is_file() for p in recordings.rglob("*"))

        disk.free()
        again = client.post(f"/api/admin/flows/{flow_id}/recordings", headers=headers,
                            data={"prompt": "greeting", "locale": "en",
                                  "file": (source.open("rb"), "greeting.wav")},
                            content_type="multipart/form-data")  # fmt: skip
        assert again.status_code == 201, again.text
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(FlowVersion)) == before + 1
        assert integrity(database) == "ok"
    finally:
        app.extensions["centralino.worker_feed"].stop()
        app.extensions["centralino.db"].dispose()
        db.dispose()
