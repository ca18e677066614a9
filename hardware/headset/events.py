"""What the headset says happened: one log line per event, and with ``--json`` one JSON object
per line on stdout (how tests and scripts follow it)."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any, TextIO

log = logging.getLogger("centralino.headset")

#: Events too frequent for the log at INFO.
QUIET = {"state"}


class Events:
    def __init__(self, json_out: TextIO | None = None) -> None:
        self.json_out = json_out
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> None:
        level = logging.DEBUG if kind in QUIET else logging.INFO
        if log.isEnabledFor(level):
            text = " ".join(f"{k}={json.dumps(v)}" for k, v in fields.items())
            log.log(level, "event=%s %s", kind, text)
        if self.json_out is not None:
            line = json.dumps({"event": kind, "t": time.monotonic(), **fields})
            with self._lock:
                self.json_out.write(line + "\n")
                self.json_out.flush()


def stdout_for_events() -> TextIO:
    """Stdout for events only: pjsip and PortAudio print to fd 1 too, so hand them stderr."""
    import os

    events = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events
