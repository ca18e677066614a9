"""The headset's state report: its JSON shape, and the client that POSTs it with HTTP Digest by
the device's SIP credentials, checked here by a server that knows only the device's HA1 (what
the console's endpoint will do, issue 12 part 2)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hardware.headset.report import HeadsetState, StateReporter, state_url
from store.passwords import sip_ha1

REALM = "centralino.local"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Console(BaseHTTPRequestHandler):
    """Accepts a report only with a valid Digest response for the stored HA1."""

    ha1: dict[str, str] = {}
    received: list[dict[str, Any]] = []
    nonces: set[str] = set()

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        found = re.fullmatch(r"/api/devices/(\w+)/state", self.path)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if not found:
            return self._answer(404)
        extension = found[1]
        auth = self.headers.get("Authorization", "")
        fields = dict(re.findall(r'(\w+)="?([^",]+)"?', auth.removeprefix("Digest ")))
        ha1 = self.ha1.get(extension)
        if ha1 and fields.get("username") == extension and fields.get("nonce") in self.nonces:
            ha2 = md5(f"POST:{fields.get('uri')}")
            expected = md5(":".join([ha1, fields["nonce"], fields.get("nc", ""),
                                     fields.get("cnonce", ""), fields.get("qop", ""), ha2]))
            if secrets.compare_digest(expected, fields.get("response", "")):
                self.received.append(json.loads(body))
                return self._answer(204)
        nonce = secrets.token_hex(8)
        self.nonces.add(nonce)
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Digest realm="{REALM}", nonce="{nonce}", qop="auth"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def console() -> Iterator[str]:
    Console.ha1 = {"1001": sip_ha1("1001", REALM, "right-password")}
    Console.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Console)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def state(**changes: Any) -> HeadsetState:
    values: dict[str, Any] = dict(extension="1001", device="Jabra Evolve 40", hook="off",
                                  call="in_call", muted=True, volume=70, heard_dbfs=-21.5,
                                  spoken_dbfs=-18.0, playback_ms=40.2, capture_ms=39.7,
                                  underruns=0)
    values.update(changes)
    return HeadsetState(**values)


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_the_report_is_a_small_typed_json_document_that_round_trips() -> None:
    report = state()
    body = report.to_json()
    assert body["type"] == "headset.state"
    assert set(body) == {"type", "extension", "device", "hook", "call", "muted", "volume",
                         "heard_dbfs", "spoken_dbfs", "playback_ms", "capture_ms",
                         "underruns", "at"}
    assert HeadsetState.from_json(json.loads(json.dumps(body))) == report
    with pytest.raises(ValueError, match="bad headset state"):
        state(call="dancing")
    with pytest.raises(ValueError, match=r"not a headset\.state"):
        HeadsetState.from_json({**body, "type": "other"})
    with pytest.raises(TypeError):
        HeadsetState.from_json({**body, "password": "x"})


def test_the_url_is_the_devices_own_and_refuses_odd_extensions() -> None:
    assert state_url("http://c:8000/", "1001") == "http://c:8000/api/devices/1001/state"
    with pytest.raises(ValueError):
        state_url("http://c:8000", "../admin")


def test_the_reporter_authenticates_with_the_sip_credentials_against_the_ha1(
    console: str,
) -> None:
    reporter = StateReporter(console, "1001", "right-password")
    reporter.report(state())
    wait_until(lambda: reporter.sent == 1)
    reporter.close()
    assert Console.received[0]["muted"] is True and Console.received[0]["extension"] == "1001"


def test_a_refused_report_changes_nothing_and_never_blocks(console: str) -> None:
    reporter = StateReporter(console, "1001", "wrong-password")
    started = time.monotonic()
    for volume in range(50):
        reporter.report(state(volume=volume))  # newest wins; the caller never waits
    assert time.monotonic() - started < 0.5
    wait_until(lambda: reporter.refused >= 1)
    reporter.close()
    assert Console.received == []
