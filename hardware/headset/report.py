"""What the headset tells the console: its hook state, mute, volume and audio levels as one small
JSON document, POSTed to ``/api/devices/<extension>/state`` with HTTP Digest authentication by
the device's own SIP credentials (the console checks the response against the device's HA1, so
it never needs the password).

The console's side is `console/inventory/state_api.py` (stored in ``headset_states``, shown on
``/devices/headsets`` and the agent's desk); when the console does not take a report the reporter
logs it once and keeps the call going. Reports never block the call: a thread sends the newest
state and drops older ones it had no time to send.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from requests.auth import HTTPDigestAuth

log = logging.getLogger(__name__)

#: The call as the headset sees it.
CALL_STATES = ("idle", "ringing", "calling", "in_call")


@dataclass(frozen=True)
class HeadsetState:
    extension: str
    device: str  # the sound device in use
    hook: str  # "on" | "off"
    call: str  # one of CALL_STATES
    muted: bool
    volume: int  # percent
    heard_dbfs: float
    spoken_dbfs: float
    playback_ms: float  # latency the jitter buffers hold
    capture_ms: float
    underruns: int
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def __post_init__(self) -> None:
        if self.call not in CALL_STATES or self.hook not in ("on", "off"):
            raise ValueError(f"bad headset state: call={self.call!r} hook={self.hook!r}")

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["type"] = "headset.state"
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> HeadsetState:
        """The console's reading of a report: unknown or missing fields are an error."""
        fields = {k: v for k, v in body.items() if k != "type"}
        if body.get("type") != "headset.state":
            raise ValueError("not a headset.state report")
        return cls(**fields)


def state_url(console_url: str, extension: str) -> str:
    if not extension.isalnum():
        raise ValueError(f"extension {extension!r} must be letters and digits")
    return f"{console_url.rstrip('/')}/api/devices/{extension}/state"


class StateReporter:
    """Sends `HeadsetState` reports in the background; `report` never blocks."""

    def __init__(self, console_url: str, extension: str, password: str,
                 timeout: float = 3.0) -> None:
        self.url = state_url(console_url, extension)
        self.auth = HTTPDigestAuth(extension, password)
        self.timeout = timeout
        self.sent = 0
        self.refused = 0
        self._pending: HeadsetState | None = None
        self._wake = threading.Condition()
        self._running = True
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="state-report", daemon=True)
        self._thread.start()

    def report(self, state: HeadsetState) -> None:
        with self._wake:
            self._pending = state
            self._wake.notify()

    def _run(self) -> None:
        session = requests.Session()
        while True:
            with self._wake:
                while self._pending is None and self._running:
                    self._wake.wait()
                state, self._pending = self._pending, None
                if state is None:
                    return
            try:
                answer = session.post(
                    self.url, data=json.dumps(state.to_json()), auth=self.auth,
                    headers={"Content-Type": "application/json"}, timeout=self.timeout,
                )
                ok = answer.status_code < 300
                detail = f"HTTP {answer.status_code}"
            except requests.RequestException as error:
                ok, detail = False, str(error)
            if ok:
                self.sent += 1
            else:
                self.refused += 1
                if not self._warned:
                    log.warning("the console did not take the headset's state (%s): %s",
                                self.url, detail)
                    self._warned = True

    def close(self) -> None:
        with self._wake:
            self._running = False
            self._wake.notify()
        self._thread.join(timeout=self.timeout + 1)
