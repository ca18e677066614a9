"""Desk-phone provisioning, the pure part: one module per vendor under `base.Vendor`, found by
name in `VENDORS` (a new vendor is a new entry, not an edit).

The console's provisioning endpoint (part 2) renders files with ``VENDORS[name]().render``;
the switch reads a vendor's ``resync_event`` and ``auto_answer_headers``; the inventory reads
``identify(user_agent)``. Nothing here imports pjsua2 or the database.
"""

from __future__ import annotations

from hardware.provisioning.base import (
    KeyKind,
    LineKey,
    PhoneIdentity,
    PhoneProfile,
    ProvisionedFile,
    ProvisioningError,
    Vendor,
)
from hardware.provisioning.cisco import Cisco
from hardware.provisioning.fanvil import Fanvil
from hardware.provisioning.grandstream import Grandstream
from hardware.provisioning.mac import MalformedMac, colon_mac, normalise_mac
from hardware.provisioning.polycom import Polycom
from hardware.provisioning.snom import Snom
from hardware.provisioning.timezone import TimeZone, UnknownTimeZone
from hardware.provisioning.yealink import Yealink

VENDORS: dict[str, type[Vendor]] = {
    vendor.name: vendor for vendor in (Yealink, Polycom, Grandstream, Cisco, Snom, Fanvil)
}


def vendor(name: str) -> Vendor:
    """The vendor registered as *name*; a clear error lists the known ones."""
    try:
        return VENDORS[name.lower()]()
    except KeyError:
        raise ProvisioningError(
            f"unknown phone vendor {name!r}; known: {', '.join(sorted(VENDORS))}"
        ) from None


def identify(user_agent: str) -> PhoneIdentity | None:
    """Vendor, model and firmware from a phone's User-Agent, or None when no vendor knows it."""
    for cls in VENDORS.values():
        found = cls().identify(user_agent)
        if found is not None:
            return found
    return None


__all__ = [
    "VENDORS",
    "KeyKind",
    "LineKey",
    "MalformedMac",
    "PhoneIdentity",
    "PhoneProfile",
    "ProvisionedFile",
    "ProvisioningError",
    "TimeZone",
    "UnknownTimeZone",
    "Vendor",
    "colon_mac",
    "identify",
    "normalise_mac",
    "vendor",
]
