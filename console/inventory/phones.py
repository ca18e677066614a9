"""One row of the desk-phone inventory, read from our tables and Kamailio's ``location``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hardware.provisioning import identify
from store.desk_phones import Confirmation, confirmation, last_command
from store.kamailio_tables import location
from store.models import Device, DeviceProvisioning, ProvisioningFetch


@dataclass(frozen=True)
class PhoneRow:
    device_id: int
    extension: str
    mac: str
    vendor: str
    model: str
    firmware: str
    registered: bool
    contact: str
    last_fetch: str  # "file status at", or ""
    last_seen: datetime | None
    config_version: int
    verdict: Confirmation


def phone_rows(session: Session, confirm_seconds: float) -> list[PhoneRow]:
    sqlite = session.get_bind().dialect.name == "sqlite"
    # db_sqlite writes Kamailio's timestamps as Julian days: datetime() reads them.
    modified = func.datetime(location.c.last_modified) if sqlite else location.c.last_modified
    rows = []
    pairs = session.execute(
        select(Device, DeviceProvisioning)
        .join(DeviceProvisioning, DeviceProvisioning.device_id == Device.id)
        .order_by(Device.extension)
    ).all()
    for device, provisioning in pairs:
        contact = session.execute(
            select(location.c.contact, location.c.user_agent, modified)
            .where(location.c.username == device.sip_username)
            .limit(1)
        ).first()
        fetch = session.scalar(
            select(ProvisioningFetch)
            .where(ProvisioningFetch.device_id == device.id)
            .order_by(ProvisioningFetch.id.desc())
            .limit(1)
        )
        agent_text = (contact[1] if contact else "") or (fetch.user_agent if fetch else "")
        found = identify(agent_text)
        seen = [t for t in (fetch.at if fetch else None, _when(contact[2]) if contact else None)
                if t is not None]
        rows.append(
            PhoneRow(
                device_id=device.id,
                extension=device.extension,
                mac=device.mac or "",
                vendor=provisioning.vendor,
                model=found.model if found else (device.model or "?"),
                firmware=found.firmware if found else "?",
                registered=contact is not None,
                contact=contact[0] if contact else "",
                last_fetch=(f"{fetch.file_name} {fetch.status} at {fetch.at:%Y-%m-%d %H:%M:%S}"
                            if fetch else ""),
                last_seen=max(seen) if seen else None,
                config_version=provisioning.config_version,
                verdict=confirmation(
                    provisioning, last_command(session, device.id, ("check-sync",)),
                    confirm_seconds=confirm_seconds,
                ),
            )
        )
    return rows


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None
