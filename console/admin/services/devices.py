"""Devices (desk phones, headsets, softphones): add, edit, disable, enable, new credentials.

The SIP password is generated here, returned once and stored only as HA1/HA1b (what Kamailio's
auth_db checks). Registration state comes from Kamailio's ``location`` table. Disabling hides
the HA1 behind `DISABLED_HA1` (no digest matches any more) and deletes the device's contacts;
the edge's keeper also drops them from Kamailio's memory (telephony/edge_devices.py).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import EXTENSION, Actor, Conflict, Form, Invalid, NotFound
from hardware.provisioning.mac import MalformedMac, colon_mac
from store.kamailio_tables import location
from store.models import DISABLED_HA1, Agent, Device, DeviceKind, utcnow
from store.passwords import sip_ha1, sip_ha1b

_VENDOR = re.compile(r"[A-Za-z0-9 ._-]{1,64}")


@dataclass(frozen=True)
class Registration:
    contact: str
    user_agent: str
    expires: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class Credentials:
    """What a new device (or new credentials) gives the admin once."""

    device_id: int
    username: str
    domain: str
    password: str


def describe(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "kind": device.kind.value,
        "vendor": device.vendor,
        "model": device.model,
        "mac": device.mac,
        "extension": device.extension,
        "sip_username": device.sip_username,
        "label": device.label,
        "auto_answer": device.auto_answer,
        "disabled": device.disabled_at is not None,
        "ha1": device.ha1,  # redacted by the audit log; never in API output (see as_json)
    }


def as_json(device: Device, registrations: list[Registration]) -> dict[str, Any]:
    data = describe(device)
    data.pop("ha1")
    data["registrations"] = [
        {"contact": r.contact, "user_agent": r.user_agent,
         "expires": _iso(r.expires), "last_seen": _iso(r.last_seen)}
        for r in registrations
    ]
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def registrations(session: Session) -> dict[str, list[Registration]]:
    """Every live contact by SIP username (expired ones left out)."""
    now = utcnow()
    rows = session.execute(
        select(location.c.username, location.c.contact, location.c.user_agent,
               _as_text(session, location.c.expires), _as_text(session, location.c.last_modified))
    ).all()
    found: dict[str, list[Registration]] = {}
    for username, contact, agent, expires, seen in rows:
        expires_at, seen_at = _moment(expires), _moment(seen)
        if expires_at is not None and expires_at < now:
            continue
        found.setdefault(username, []).append(Registration(contact, agent, expires_at, seen_at))
    return found


def _as_text(session: Session, column: Any) -> Any:
    """A TIMESTAMP column read as text: db_sqlite writes Julian-day numbers into them (shared
    FACTS), which SQLAlchemy's DateTime cannot parse; ``datetime(col)`` turns both into text."""
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime(column, type_=String)
    return cast(column, String)


def _moment(value: object) -> datetime | None:
    """Kamailio's db_sqlite writes TIMESTAMPs as Julian-day numbers (shared FACTS)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        seconds = (float(value) - 2440587.5) * 86400.0
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        try:
            return _moment(float(str(value)))
        except ValueError:
            return None


def listing(session: Session) -> list[tuple[Device, list[Registration]]]:
    found = registrations(session)
    devices = session.scalars(select(Device).order_by(Device.extension)).all()
    return [(d, found.get(d.sip_username, []) if d.disabled_at is None else []) for d in devices]


def get(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def _fields(session: Session, form: Form, current: Device | None) -> dict[str, Any]:
    kind_text = form.text("kind", required=current is None)
    kind = current.kind if current is not None else DeviceKind.SOFTPHONE
    if kind_text is not None:
        try:
            kind = DeviceKind(kind_text)
        except ValueError:
            form.errors["kind"] = "one of " + ", ".join(k.value for k in DeviceKind)
    values: dict[str, Any] = {
        "kind": kind,
        "vendor": form.text("vendor", max_length=64, pattern=_VENDOR, hint="letters and digits"),
        "model": form.text("model", max_length=64, pattern=_VENDOR, hint="letters and digits"),
        "label": form.text("label", max_length=120),
        "auto_answer": form.flag("auto_answer"),
    }
    mac = form.text("mac", max_length=40)
    values["mac"] = None
    if mac is not None:
        try:
            values["mac"] = colon_mac(mac)
        except MalformedMac as error:
            form.errors["mac"] = str(error)
        else:
            clash = session.scalar(select(Device).where(Device.mac == values["mac"]))
            if clash is not None and clash is not current:
                form.errors["mac"] = f"already the MAC of extension {clash.extension}"
    if current is None:
        extension = form.text("extension", required=True, max_length=15, pattern=EXTENSION,
                              hint="2 to 15 digits")
        if extension is not None and session.scalar(
            select(func.count()).select_from(Device).where(
                (Device.extension == extension) | (Device.sip_username == extension))
        ):
            form.errors["extension"] = f"extension {extension} already exists"
        values["extension"] = extension
    return values


def _new_password() -> str:
    return secrets.token_urlsafe(15)  # 120 bits, URL- and config-file-safe


def _set_password(device: Device, domain: str, password: str) -> None:
    device.ha1 = sip_ha1(device.sip_username, domain, password)
    device.ha1b = sip_ha1b(device.sip_username, domain, password)


def create(session: Session, actor: Actor, data: dict[str, Any], domain: str) -> Credentials:
    form = Form(data)
    values = _fields(session, form, None)
    form.check()
    password = _new_password()
    device = Device(sip_username=values["extension"], sip_domain=domain, **values)
    _set_password(device, domain, password)
    session.add(device)
    session.flush()
    audit.record(session, actor, "device.create", "device", device.id, device.extension,
                 None, describe(device))
    return Credentials(device.id, device.sip_username, domain, password)


def update(session: Session, actor: Actor, device_id: int, data: dict[str, Any]) -> Device:
    device = get(session, device_id)
    before = describe(device)
    form = Form({**describe(device), "kind": device.kind.value, **data})
    values = _fields(session, form, device)
    form.check()
    for key, value in values.items():
        setattr(device, key, value)
    audit.record(session, actor, "device.update", "device", device.id, device.extension,
                 before, describe(device))
    return device


def new_credentials(session: Session, actor: Actor, device_id: int, domain: str) -> Credentials:
    device = get(session, device_id)
    if device.disabled_at is not None:
        raise Conflict("enable the device before giving it new credentials")
    before = describe(device)
    password = _new_password()
    device.sip_domain = domain
    _set_password(device, domain, password)
    _unregister(session, device)  # the old contacts used the old password
    audit.record(session, actor, "device.credentials", "device", device.id, device.extension,
                 before, describe(device))
    return Credentials(device.id, device.sip_username, domain, password)


def disable(session: Session, actor: Actor, device_id: int) -> Device:
    device = get(session, device_id)
    if device.disabled_at is not None:
        return device
    before = describe(device)
    device.disabled_at = utcnow()
    device.ha1 = DISABLED_HA1 + device.ha1
    device.ha1b = DISABLED_HA1 + device.ha1b
    _unregister(session, device)
    audit.record(session, actor, "device.disable", "device", device.id, device.extension,
                 before, describe(device))
    return device


def enable(session: Session, actor: Actor, device_id: int) -> Device:
    device = get(session, device_id)
    if device.disabled_at is None:
        return device
    before = describe(device)
    device.disabled_at = None
    device.ha1 = device.ha1.removeprefix(DISABLED_HA1)
    device.ha1b = device.ha1b.removeprefix(DISABLED_HA1)
    audit.record(session, actor, "device.enable", "device", device.id, device.extension,
                 before, describe(device))
    return device


def users_of(session: Session, device_id: int) -> list[str]:
    """Who has this device as theirs (shown before disabling it)."""
    return list(session.scalars(select(Agent.name).where(Agent.device_id == device_id)))


def _unregister(session: Session, device: Device) -> None:
    session.execute(delete(location).where(location.c.username == device.sip_username))


def kinds() -> list[str]:
    return [kind.value for kind in DeviceKind]


__all__ = ["Credentials", "Invalid", "Registration", "create", "disable", "enable", "listing"]
