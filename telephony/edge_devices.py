"""Disabled devices inside the edge: their contacts are dropped from Kamailio's memory
(``ul.rm``) as soon as the keeper sees them disabled in the store, so a disabled phone is
unregistered at once (the admin page already removed its rows from ``location``, and its HA1
no longer matches, so it cannot register again)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from store.db import Database
from store.models import Device
from telephony.edge_control import EdgeError

log = logging.getLogger("centralino.edge")

Rpc = Callable[..., str]


def disabled_usernames(db: Database) -> set[str]:
    with db.session() as session:
        query = select(Device.sip_username).where(Device.disabled_at.is_not(None))
        return set(session.scalars(query))


class DisabledDevices:
    """Remembers which disabled devices it already removed, so each costs one RPC."""

    def __init__(self) -> None:
        self.removed: set[str] = set()

    def sync(self, db: Database, rpc: Rpc) -> set[str]:
        """Remove the newly disabled devices' contacts; returns the usernames removed now."""
        disabled = disabled_usernames(db)
        fresh = disabled - self.removed
        for username in sorted(fresh):
            try:
                rpc("ul.rm", "location", f"s:{username}")  # kamcmd: digits are a number
            except EdgeError as error:  # "AOR not found": nothing was registered
                if "not found" not in str(error).lower():
                    raise
            log.info("event=device.unregistered user=%s", username)
        self.removed = disabled  # a device enabled again is watched again
        return fresh
