"""Enrolling a desk phone: its device row (HA1 of the derived SIP password, never the password)
and its provisioning row. The admin pages and the tests call this; the phone's secrets come
back once so the admin can set the provisioning token on the phone (or its vendor's
redirection service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hardware.provisioning import LineKey, TimeZone, colon_mac, normalise_mac, vendor
from hardware.provisioning.credentials import (
    load_or_create_key,
    provisioning_token,
    sip_password,
)
from store.db import Database
from store.models import Device, DeviceKind, DeviceProvisioning
from store.passwords import sip_ha1, sip_ha1b


@dataclass(frozen=True)
class Enrolled:
    device_id: int
    mac: str  # 12 hex digits
    sip_password: str
    token: str  # what the phone presents to fetch its file (HTTP Basic password)


def enrol_desk_phone(
    db: Database,
    var_dir: Path,
    *,
    mac: str,
    vendor_name: str,
    extension: str,
    sip_domain: str,
    time_zone: str = "UTC",
    line_keys: Sequence[LineKey] = (),
    label: str | None = None,
) -> Enrolled:
    """Add a desk phone; a wrong MAC, vendor or time zone raises before anything is written."""
    digits = normalise_mac(mac)
    brand = vendor(vendor_name)
    TimeZone.named(time_zone)
    key = load_or_create_key(var_dir)
    password = sip_password(key, digits, extension, 1)
    with db.session() as session:
        device = Device(
            kind=DeviceKind.DESK_PHONE,
            vendor=brand.name,
            mac=colon_mac(digits),
            extension=extension,
            sip_username=extension,
            sip_domain=sip_domain,
            ha1=sip_ha1(extension, sip_domain, password),
            ha1b=sip_ha1b(extension, sip_domain, password),
            label=label,
        )
        session.add(device)
        session.flush()
        session.add(
            DeviceProvisioning(
                device_id=device.id,
                vendor=brand.name,
                generation=1,
                time_zone=time_zone,
                line_keys=[
                    {"kind": k.kind.value, "label": k.label, "target": k.target, "dial": k.dial}
                    for k in line_keys
                ],
            )
        )
        device_id = device.id
    return Enrolled(device_id, digits, password, provisioning_token(key, digits, 1))
