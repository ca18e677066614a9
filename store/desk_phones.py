"""Desk phones' provisioning life cycle in the store: a configuration change and the check-sync it
queues, the fetches that confirm it, the queue of NOTIFYs the switch owes a phone, and the
"applied / waiting / not applied" verdict the admin pages show ("confirm, don't hope").

The console (admin pages, the provisioning endpoint) and the edge (telephony/phone_control.py,
which sends the queued NOTIFYs) both go through here, so the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.db import Database
from store.models import Device, DeviceProvisioning, PhoneCommand, ProvisioningFetch, utcnow

#: What the switch may send a phone (telephony/phone_control.py has one entry per kind).
COMMAND_KINDS = ("check-sync", "reboot", "mwi")
QUEUED, HELD, SENT, FAILED = "queued", "held", "sent", "failed"
#: Held longer than the edge may wait (the phone's dialog never ended): given up, with why.
EXPIRED = "expired"
#: Commands still owed to the phone.
OPEN_STATES = (QUEUED, HELD)
#: How long after a check-sync a phone has to fetch its new file, unless configured.
DEFAULT_CONFIRM_SECONDS = 60.0


class DeskPhoneError(ValueError):
    """A command or change the store refuses (unknown device, unknown kind)."""


def queue_command(
    session: Session,
    device_id: int,
    kind: str,
    payload: dict[str, Any] | None = None,
    config_version: int | None = None,
) -> PhoneCommand:
    """Queue a NOTIFY for a phone. A newer check-sync or reboot replaces one still owed (the
    phone needs one, not a burst); message-waiting updates replace the older one alike."""
    if kind not in COMMAND_KINDS:
        raise DeskPhoneError(f"unknown phone command {kind!r}; known: {', '.join(COMMAND_KINDS)}")
    session.execute(
        update(PhoneCommand)
        .where(
            PhoneCommand.device_id == device_id,
            PhoneCommand.kind == kind,
            PhoneCommand.state.in_(OPEN_STATES),
        )
        .values(state=FAILED, reason="replaced by a newer command")
    )
    command = PhoneCommand(
        device_id=device_id,
        kind=kind,
        payload=payload or {},
        state=QUEUED,
        config_version=config_version,
        created_at=utcnow(),
    )
    session.add(command)
    session.flush()
    return command


def config_changed(db: Database, device_id: int) -> int:
    """An admin changed what the phone's file says: bump its version and queue a check-sync.
    Returns the new version (the one a fetch must carry to count as applied)."""
    with db.session() as session:
        provisioning = session.get(DeviceProvisioning, device_id)
        if provisioning is None:
            raise DeskPhoneError(f"device {device_id} is not a provisioned desk phone")
        provisioning.config_version += 1
        provisioning.config_changed_at = utcnow()
        queue_command(session, device_id, "check-sync",
                      config_version=provisioning.config_version)
        return provisioning.config_version


def record_fetch(
    session: Session,
    *,
    mac: str,
    device_id: int | None,
    address: str,
    user_agent: str,
    file_name: str,
    status: int,
    config_version: int | None = None,
) -> None:
    """Log one request for a file (answered or refused); truncates what the phone sent."""
    session.add(
        ProvisioningFetch(
            mac=mac[:12],
            device_id=device_id,
            address=address[:64],
            user_agent=user_agent[:255],
            file_name=file_name[:64],
            status=status,
            config_version=config_version,
            at=utcnow(),
        )
    )


def mark_applied(provisioning: DeviceProvisioning) -> None:
    """The phone fetched the current version of its own file."""
    provisioning.applied_version = provisioning.config_version
    provisioning.applied_at = utcnow()


@dataclass(frozen=True)
class Confirmation:
    """What the admin page says about a phone's last change."""

    state: str  # "applied", "waiting" or "not applied"
    reason: str


def last_command(session: Session, device_id: int, kinds: tuple[str, ...]) -> PhoneCommand | None:
    return session.scalar(
        select(PhoneCommand)
        .where(PhoneCommand.device_id == device_id, PhoneCommand.kind.in_(kinds))
        .order_by(PhoneCommand.id.desc())
        .limit(1)
    )


def confirmation(
    provisioning: DeviceProvisioning,
    command: PhoneCommand | None,
    now: datetime | None = None,
    confirm_seconds: float = DEFAULT_CONFIRM_SECONDS,
) -> Confirmation:
    """"applied" only when the phone fetched the current version of its file; while the switch
    still may get it there, "waiting" and why; else "not applied" and why."""
    now = now or utcnow()
    version = provisioning.config_version
    if provisioning.applied_version is not None and provisioning.applied_version >= version:
        assert provisioning.applied_at is not None
        fetched = f"{provisioning.applied_at:%H:%M:%S}"
        return Confirmation("applied", f"version {version} fetched at {fetched}")
    window = timedelta(seconds=confirm_seconds)
    if command is None:
        if now - provisioning.config_changed_at <= window:
            return Confirmation("waiting", "waiting for the phone's first fetch")
        return Confirmation("not applied", "the phone never fetched its file")
    if command.state == QUEUED:
        return Confirmation("waiting", "check-sync queued for the switch")
    if command.state == HELD:
        return Confirmation("waiting", "check-sync held until the phone's call ends")
    if command.state in (FAILED, EXPIRED):
        return Confirmation("not applied", command.reason or "the check-sync failed")
    assert command.sent_at is not None
    if now - command.sent_at <= window:
        return Confirmation("waiting", f"check-sync sent at {command.sent_at:%H:%M:%S}, "
                                       "waiting for the phone to fetch its file")
    return Confirmation(
        "not applied",
        f"the phone accepted the check-sync ({command.answer_code}) but did not fetch its file "
        f"within {confirm_seconds:g} s",
    )


def open_commands(session: Session) -> list[tuple[PhoneCommand, Device, DeviceProvisioning]]:
    """Commands still owed, oldest first, with their phone."""
    rows = session.execute(
        select(PhoneCommand, Device, DeviceProvisioning)
        .join(Device, Device.id == PhoneCommand.device_id)
        .join(DeviceProvisioning, DeviceProvisioning.device_id == Device.id)
        .where(PhoneCommand.state.in_(OPEN_STATES))
        .order_by(PhoneCommand.id)
    ).all()
    return [(command, device, provisioning) for command, device, provisioning in rows]
