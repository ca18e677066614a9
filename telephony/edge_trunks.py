"""Our carrier registrations inside a running edge: trunk edits reach Kamailio's uac module
over the control socket (``uac.reg_remove`` / ``uac.reg_refresh`` per trunk, never a restart,
so calls in progress are untouched), and what Kamailio holds (``uac.reg_dump``) together with
the carriers' last answers (logged by the routing script's ``reply_route``) is written to
``var/edge/trunks.json`` for the console (`store.trunk_state`)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from store.db import Database
from store.settings import Settings
from store.trunk_state import TrunkState, write
from telephony.edge_control import EdgeError
from telephony.edge_data import sync_trunk_registrations, trunk_rows

log = logging.getLogger("centralino.edge")

Rpc = Callable[..., str]

#: The routing script's line for every answer to one of our REGISTERs.
TRUNK_REPLY = re.compile(
    r"event=trunk\.reply to=(\S{1,300}) code=([1-6][0-9]{2}) reason=(.{0,120})$"
)
#: uac's record flags (uac_reg.c): disabled, REGISTER under way, registered.
DISABLED, ONGOING, ONLINE = 1, 2, 4
CHALLENGES = (401, 407)


def parse_reg_dump(text: str) -> list[dict[str, str]]:
    """kamcmd's ``uac.reg_dump`` text -> one dict of fields per record."""
    records: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "{":
            current = {}
        elif stripped == "}":
            if current is not None:
                records.append(current)
            current = None
        elif current is not None and ":" in stripped:
            key, value = stripped.split(":", 1)
            current[key.strip()] = value.strip()
    return records


class _Answers:
    """The carriers' answers per To URI: the last one and how many challenges in a row."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str]] = {}
        self.challenges: dict[str, int] = {}
        self.lock = threading.Lock()

    def note(self, to: str, code: int, reason: str) -> None:
        with self.lock:
            self.last[to] = (code, reason.strip())
            self.challenges[to] = self.challenges.get(to, 0) + 1 if code in CHALLENGES else 0

    def of(self, to: str) -> tuple[int | None, str, int]:
        with self.lock:
            code, reason = self.last.get(to, (None, ""))
            return code, reason, self.challenges.get(to, 0)

    def forget(self, to: str) -> None:
        with self.lock:
            self.last.pop(to, None)
            self.challenges.pop(to, None)


class TrunkKeeper:
    """Keeps Kamailio's registrations equal to the enabled trunks and reports their state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loaded: dict[str, dict[str, object]] | None = None  # None: not compared yet
        self.answers = _Answers()

    def note_log_line(self, line: str) -> bool:
        """Remember a carrier's answer from a Kamailio log line; True when it was one."""
        match = TRUNK_REPLY.search(line)
        if match is None:
            return False
        self.answers.note(match[1], int(match[2]), match[3])
        return True

    def sync(self, db: Database, rpc: Rpc | None) -> list[str]:
        """Apply trunk edits to the running Kamailio (*rpc*; None: none runs); returns the
        ``l_uuid``s reloaded. At the first call the rows Kamailio loaded at start are taken as
        they are (`sync_trunk_registrations` wrote them before it started)."""
        wanted = trunk_rows(db, self.settings)
        if self.loaded is None:
            self.loaded = wanted
            return []
        if wanted == self.loaded:
            return []
        sync_trunk_registrations(db, self.settings)
        changed = sorted(
            uuid for uuid in set(wanted) | set(self.loaded)
            if wanted.get(uuid) != self.loaded.get(uuid)
        )
        if rpc is not None:
            for uuid in changed:
                old = self.loaded.get(uuid)
                if old is not None:  # dropped first: a refresh keeps a live record's timer
                    _quietly(rpc, "uac.reg_remove", uuid)
                    self.answers.forget(_to_uri(old))
                if uuid in wanted:
                    rpc("uac.reg_refresh", uuid)
        self.loaded = wanted
        log.info("trunk registrations reloaded: %s", ", ".join(changed))
        return changed

    def states(self, rpc: Rpc | None) -> dict[str, TrunkState]:
        """Each enabled trunk's registration as Kamailio holds it now."""
        dump = parse_reg_dump(rpc("uac.reg_dump")) if rpc is not None else []
        records = {record.get("l_uuid", ""): record for record in dump}
        states: dict[str, TrunkState] = {}
        for uuid, row in (self.loaded or {}).items():
            name = uuid.removeprefix("trunk-")
            record = records.get(uuid)
            code, reason, challenges = self.answers.of(_to_uri(row))
            if record is None:
                states[name] = TrunkState(name, "not loaded", code, reason)
                continue
            flags = int(record.get("flags", "0") or 0)
            state = TrunkState(name, "registering", code, reason,
                               _number(record.get("timer_expires")),
                               _number(record.get("diff_expires")))
            if flags & DISABLED:
                state.status = "disabled"
            elif flags & ONLINE:
                state.status = "registered"
            elif _refused(code, challenges):
                state.status = "failed"
            states[name] = state
        return states

    def report(self, db: Database, rpc: Rpc | None) -> dict[str, TrunkState]:
        """Sync, then write the states where the console reads them."""
        self.sync(db, rpc)
        states = self.states(rpc)
        write(self.settings.var_dir, states)
        return states


def _refused(code: int | None, challenges: int) -> bool:
    """A final refusal, or a challenge again after we answered one (wrong credentials)."""
    if code is None:
        return False
    return (code >= 300 and code not in CHALLENGES) or challenges > 1


def _to_uri(row: dict[str, object]) -> str:
    return f"sip:{row['r_username']}@{row['r_domain']}"


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _quietly(rpc: Rpc, *command: str) -> None:
    try:
        rpc(*command)
    except EdgeError as error:  # a record Kamailio never loaded: nothing to remove
        log.info("%s: %s", " ".join(command), error)
