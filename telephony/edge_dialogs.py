"""The edge hangs up the calls of a switch worker that died: a BYE to every phone still on them.

A worker killed mid-call sends no BYE: its caller (and the agent's phone of a bridged call)
would sit in silence until they hang up. The edge remembers every dialog it relays (Kamailio's
``dialog`` module), so once a worker is known dead (its row no longer alive: reaped after a
stale heartbeat, or started again, which is a new life with no calls) the edge's keeper ends
each dialog that has that worker at one end (``dlg.end_dlg``: BYE to both sides).

A worker is identified by its SIP address and by its life (``started_at``): a restarted worker
on the same port must not lose the calls of its new life, so only dialogs that began before the
death was noticed are ended.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from store.db import Database
from store.models import Worker

log = logging.getLogger("centralino.edge")

_FIELD = re.compile(r"^\s*(h_entry|h_id|init_ts|start_ts|contact):\s*(\S.*?)\s*$", re.MULTILINE)
_HOSTPORT = re.compile(r"@?\[?([0-9A-Za-z.:_-]+?)\]?:(\d+)(?:[;>]|$)")


@dataclass(frozen=True)
class RelayedDialog:
    """One dialog of ``dlg.list``: its handle and the contacts of its two ends."""

    h_entry: str
    h_id: str
    started: int  # Unix time the INVITE arrived
    contacts: tuple[str, ...]

    def touches(self, host: str, port: int) -> bool:
        """Whether one end's contact is *host*:*port* (a worker's SIP address)."""
        for contact in self.contacts:
            for found_host, found_port in _HOSTPORT.findall(contact):
                if found_host.rsplit("@", 1)[-1] == host and int(found_port) == port:
                    return True
        return False


def parse_dialogs(text: str) -> list[RelayedDialog]:
    """The dialogs in kamcmd's ``dlg.list`` output (one ``h_entry`` starts each)."""
    dialogs: list[RelayedDialog] = []
    current: dict[str, list[str]] = {}

    def flush() -> None:
        if "h_entry" in current and "h_id" in current:
            started = current.get("init_ts") or current.get("start_ts") or ["0"]
            dialogs.append(
                RelayedDialog(
                    current["h_entry"][0],
                    current["h_id"][0],
                    int(started[0]) if started[0].isdigit() else 0,
                    tuple(current.get("contact", [])),
                )
            )

    for match in _FIELD.finditer(text):
        key, value = match.group(1), match.group(2)
        if key == "h_entry":
            flush()
            current = {}
        current.setdefault(key, []).append(value)
    flush()
    return dialogs


@dataclass
class DeadWorkerHangups:
    """Follows the workers' lives; when one ends, ends the relayed dialogs it was on.

    *rpc* is the edge's control socket (``Edge.rpc``)."""

    rpc: Callable[..., str]
    lives: dict[tuple[str, int], datetime] | None = None

    def follow(self, db: Database) -> list[str]:
        """One look at the workers' rows; returns the worker addresses whose calls were ended."""
        with db.session() as session:
            rows = session.execute(
                select(Worker.host, Worker.sip_port, Worker.started_at).where(Worker.alive)
            ).all()
        alive = {(host, port): started for host, port, started in rows}
        if self.lives is None:  # first look: nothing is known to have died yet
            self.lives = alive
            return []
        ended = [where for where, life in self.lives.items() if alive.get(where) != life]
        self.lives = alive
        if not ended:
            return []
        noticed = int(time.time())
        dialogs = parse_dialogs(self.rpc("dlg.list"))
        hung_up: list[str] = []
        for host, port in ended:
            mine = [d for d in dialogs if d.touches(host, port) and d.started <= noticed]
            for dialog in mine:
                try:
                    self.rpc("dlg.end_dlg", dialog.h_entry, dialog.h_id)
                except Exception:  # already gone (the phone hung up meanwhile)
                    log.info("dialog %s:%s already ended", dialog.h_entry, dialog.h_id)
            log.warning(
                "switch worker sip:%s:%d is gone: ended its %d call leg(s)", host, port, len(mine)
            )
            hung_up.append(f"sip:{host}:{port}")
        return hung_up
