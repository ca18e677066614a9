"""Intercom: the headers that make a device answer an INVITE at once, chosen per device. A
desk phone gets its vendor's variant (`hardware.provisioning`: Call-Info answer-after,
Alert-Info info=alert-autoanswer, ...); any other device both common forms. The edge strips
these headers from everyone but the workers (kamailio.cfg.tmpl, STRANGERHEADERS)."""

from __future__ import annotations

import time

from sqlalchemy import select

from hardware.provisioning import VENDORS
from store.db import Database
from store.models import Device, DeviceProvisioning

#: Headsets and softphones: both forms (telephony/testing/phone.py and the headset honour them).
COMMON = (
    ("Call-Info", "<sip:{host}>;answer-after=0"),
    ("Alert-Info", "<http://{host}/auto>;info=alert-autoanswer"),
)
CACHE_SECONDS = 30.0


class IntercomHints:
    """Per-extension auto-answer headers, read from the store and kept for `CACHE_SECONDS`."""

    def __init__(self, db: Database, host: str) -> None:
        self.db, self.host = db, host
        self._cache: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {}

    def headers(self, target: str) -> tuple[tuple[str, str], ...]:
        cached = self._cache.get(target)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.db.session() as session:
            vendor_name = session.scalar(
                select(DeviceProvisioning.vendor)
                .join(Device, Device.id == DeviceProvisioning.device_id)
                .where(Device.extension == target)
            )
        brand = VENDORS.get(vendor_name or "")
        found = (
            tuple(brand().auto_answer_headers(self.host).items())
            if brand is not None
            else tuple((name, value.format(host=self.host)) for name, value in COMMON)
        )
        self._cache[target] = (time.monotonic(), found)
        return found
