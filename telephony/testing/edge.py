"""A real Kamailio edge on free loopback ports with a fresh database (tests, benchmarks)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.db import Database
from store.migrate import upgrade
from store.models import Device, DeviceKind
from store.passwords import sip_ha1, sip_ha1b
from store.settings import Settings
from telephony.edge import Edge, EdgeTuning, sync_trunk_registrations
from telephony.testing.ports import free_port


@dataclass
class EdgeUnderTest:
    settings: Settings
    db: Database
    edge: Edge

    @property
    def address(self) -> tuple[str, int]:
        return self.settings.sip_address, self.settings.sip_port

    @property
    def uri_host(self) -> str:
        return f"{self.settings.sip_address}:{self.settings.sip_port}"

    def add_device(self, extension: str, password: str | None = None,
                   kind: DeviceKind = DeviceKind.SOFTPHONE) -> str:
        """Provision a device; returns its SIP password."""
        password = password or secrets.token_urlsafe(10)
        domain = self.settings.sip_domain
        with self.db.session() as session:
            session.add(Device(kind=kind, extension=extension, sip_username=extension,
                               sip_domain=domain, ha1=sip_ha1(extension, domain, password),
                               ha1b=sip_ha1b(extension, domain, password)))
        return password


def make_settings(var_dir: Path, **overrides: Any) -> Settings:
    """Settings for a throw-away deployment in *var_dir* on free loopback ports; *overrides*
    are Settings fields (a wrong name or type fails in Settings itself)."""
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "sip_port": free_port(),
        "worker_sip_base_port": free_port(),
        "worker_api_base_port": free_port(),
        "console_port": free_port(),
        "speech_port": free_port(),
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_edge(var_dir: Path, tuning: EdgeTuning | None = None,
                 settings: Settings | None = None) -> Iterator[EdgeUnderTest]:
    """A migrated database and a Kamailio edge on it, stopped afterwards."""
    settings = settings or make_settings(var_dir)
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    edge = Edge(settings, tuning or EdgeTuning(min_expires=1, trunk_timer_s=1))
    sync_trunk_registrations(db, settings)
    edge.start()
    edge.keep_workers_in_sync(db, interval=0.2)
    try:
        yield EdgeUnderTest(settings, db, edge)
    finally:
        edge.stop()
        db.dispose()
