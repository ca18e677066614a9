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
from telephony.edge import Edge, EdgeError, EdgeTuning, sync_trunk_registrations
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

    @property
    def switch_address(self) -> tuple[str, int]:
        """The socket where workers reach the edge (and the only one it trusts them on)."""
        return self.settings.edge_switch_address, self.settings.edge_switch_port

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
        "edge_switch_port": free_port(),
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
    sync_trunk_registrations(db, settings)
    edge = start_on_free_ports(settings, tuning or EdgeTuning(min_expires=1, trunk_timer_s=1))
    edge.keep_workers_in_sync(db, interval=0.2)
    try:
        yield EdgeUnderTest(settings, db, edge)
    finally:
        edge.stop()
        db.dispose()


def start_on_free_ports(settings: Settings, tuning: EdgeTuning, attempts: int = 3) -> Edge:
    """Start an edge on *settings*' ports; when another process took one of them between
    `free_port` handing it out and Kamailio binding it, move *settings* to fresh ports."""
    for attempt in range(attempts):
        edge = Edge(settings, tuning)
        try:
            edge.start()
            return edge
        except EdgeError as error:
            if "in use" not in str(error) or attempt == attempts - 1:
                raise
            settings.sip_port, settings.edge_switch_port = free_port(), free_port()
    raise AssertionError("unreachable")
