"""The store's desk-phone rules without processes: a newer command replaces an open one, the
verdict's states and reasons, and which users `dlg.list` says are on a call."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from console.provisioning.enrol import enrol_desk_phone
from store.db import Database
from store.desk_phones import (
    DeskPhoneError,
    config_changed,
    confirmation,
    last_command,
    mark_applied,
    queue_command,
)
from store.migrate import upgrade
from store.models import DeviceProvisioning, PhoneCommand, utcnow
from telephony.phone_control import live_call_users


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    upgrade(url)
    return Database(url)


def test_a_newer_check_sync_replaces_the_open_one(db: Database, tmp_path: Path) -> None:
    phone = enrol_desk_phone(db, tmp_path, mac="001565000101", vendor_name="yealink",
                             extension="3501", sip_domain="d")
    assert config_changed(db, phone.device_id) == 2
    assert config_changed(db, phone.device_id) == 3
    with db.session() as session:
        queue_command(session, phone.device_id, "mwi", {"new": 1})
        rows = session.scalars(select(PhoneCommand).order_by(PhoneCommand.id)).all()
        assert [(r.kind, r.state, r.config_version) for r in rows] == [
            ("check-sync", "failed", 2), ("check-sync", "queued", 3), ("mwi", "queued", None)]
        assert rows[0].reason == "replaced by a newer command"
        with pytest.raises(DeskPhoneError, match="unknown phone command 'format'"):
            queue_command(session, phone.device_id, "format")


def test_the_verdict(db: Database, tmp_path: Path) -> None:
    phone = enrol_desk_phone(db, tmp_path, mac="001565000102", vendor_name="snom",
                             extension="3502", sip_domain="d")
    config_changed(db, phone.device_id)
    with db.session() as session:
        provisioning = session.get(DeviceProvisioning, phone.device_id)
        assert provisioning is not None
        command = last_command(session, phone.device_id, ("check-sync",))
        assert command is not None
        assert confirmation(provisioning, command).state == "waiting"
        command.state = "held"
        assert confirmation(provisioning, command).reason == (
            "check-sync held until the phone's call ends")
        command.state, command.sent_at, command.answer_code = "sent", utcnow(), 200
        assert confirmation(provisioning, command).state == "waiting"
        later = utcnow() + timedelta(seconds=61)
        verdict = confirmation(provisioning, command, now=later)
        assert verdict.state == "not applied" and "within 60 s" in verdict.reason
        command.state, command.reason = "failed", "the phone did not answer the NOTIFY"
        assert confirmation(provisioning, command).reason == "the phone did not answer the NOTIFY"
        mark_applied(provisioning)
        assert confirmation(provisioning, command).state == "applied"
        provisioning.config_version += 1  # a newer change is not applied by the old fetch
        assert confirmation(provisioning, command).state == "not applied"
        provisioning.applied_version = provisioning.applied_at = None
        provisioning.config_changed_at = utcnow() - timedelta(hours=1)
        assert confirmation(provisioning, None).reason == "the phone never fetched its file"


DLG_LIST = """{
\th_entry: 1234
\th_id: 5678
\tcall-id: abc@127.0.0.1
\tfrom_uri: sip:switch-1@127.0.0.1
\tto_uri: sip:3301@127.0.0.1:5070
\tstate: 4
\tcaller: {
\t\ttag: x
\t}
}
{
\th_entry: 99
\tfrom_uri: sip:3302@centralino.local
\tto_uri: sip:3303@centralino.local
\tstate: 5
}
{
\tfrom_uri: <sip:3304@centralino.local>
\tto_uri: sip:800@127.0.0.1
\tstate: 2
}
"""


def test_live_call_users_come_from_dialogs_that_are_not_over() -> None:
    assert live_call_users(DLG_LIST) == {"switch-1", "3301", "3304", "800"}
    assert live_call_users("") == set()
