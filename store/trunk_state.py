"""What the edge last saw of our carrier registrations, in ``var/edge/trunks.json``: the edge
writes it (telephony/edge_trunks.py) from Kamailio's ``uac.reg_dump`` and the carriers' answers
to our REGISTERs; the console reads it for the trunks page without talking to Kamailio."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from store.private_files import write_private

FILE_NAME = "trunks.json"


@dataclass
class TrunkState:
    """One trunk's registration as Kamailio holds it."""

    name: str
    status: str  # registered | failed | registering | disabled | not loaded
    last_code: int | None = None  # the carrier's last answer to our REGISTER
    last_reason: str = ""
    next_attempt_at: float | None = None  # unix time of the next REGISTER (refresh or retry)
    expires_in: int | None = None


def path_in(var_dir: str | Path) -> Path:
    return Path(var_dir) / "edge" / FILE_NAME


def write(var_dir: str | Path, states: dict[str, TrunkState]) -> None:
    document = {"written_at": time.time(), "trunks": {n: asdict(s) for n, s in states.items()}}
    target = path_in(var_dir)
    staged = write_private(target.with_name(FILE_NAME + ".tmp"), json.dumps(document, indent=1))
    staged.replace(target)  # readers never see half a file


def read(var_dir: str | Path, fresh_within_s: float = 30.0) -> dict[str, TrunkState] | None:
    """The trunks' states, or None when no edge reported within *fresh_within_s*."""
    path = path_in(var_dir)
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if time.time() - float(document.get("written_at", 0)) > fresh_within_s:
        return None
    return {name: TrunkState(**fields) for name, fields in document.get("trunks", {}).items()}
