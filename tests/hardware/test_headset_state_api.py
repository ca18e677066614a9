"""The console takes a headset's state (``POST /api/devices/<ext>/state``) from the real
reporter signed with HTTP Digest by the device's SIP password, checked against the stored HA1
only; it refuses a wrong password and a report about another extension; signed-in people read
it back by role (agents their own device only) and see it on the headsets page and the desk."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from console.testing.console_process import ConsoleProcess
from hardware.headset.report import HeadsetState, StateReporter
from store.db import Database
from store.migrate import upgrade
from store.models import Agent, Device, DeviceKind, HeadsetStateRow, Role
from store.passwords import ScryptCost, hash_password, sip_ha1, sip_ha1b
from telephony.testing.workers import wait_until

DOMAIN = "centralino.local"
SIP_PASSWORD = "headset-sip-secret"


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[ConsoleProcess, Database]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    cost = ScryptCost(2**10, 8, 1)
    with db.session() as session:
        for extension in ("1101", "1102"):
            device = Device(kind=DeviceKind.SOFTPHONE, extension=extension,
                            sip_username=extension, sip_domain=DOMAIN,
                            ha1=sip_ha1(extension, DOMAIN, SIP_PASSWORD),
                            ha1b=sip_ha1b(extension, DOMAIN, SIP_PASSWORD))
            session.add(device)
            session.flush()
            session.add(Agent(name=f"Agent {extension}", username=f"a{extension}",
                              role=Role.AGENT, device_id=device.id,
                              password_hash=hash_password("agent-pw", cost)))
        session.add(Agent(name="Sam", username="sam", role=Role.SUPERVISOR,
                          password_hash=hash_password("sup-pw", cost)))
    running = ConsoleProcess(tmp_path, url).start()
    yield running, db
    running.stop()
    db.dispose()


def state(extension: str = "1101", **changes: Any) -> HeadsetState:
    values: dict[str, Any] = dict(
        extension=extension, device="Jabra Evolve2 65", hook="off", call="in_call", muted=True,
        volume=70, heard_dbfs=-23.5, spoken_dbfs=-30.0, playback_ms=40.0, capture_ms=20.0,
        underruns=0)
    values.update(changes)
    return HeadsetState(**values)


def signed_in(console: ConsoleProcess, username: str, password: str) -> requests.Session:
    browser = requests.Session()
    browser.cookies.set("centralino_session", console.sign_in(username, password),
                        domain="127.0.0.1", path="/")
    return browser


def stored(db: Database, device_id: int) -> HeadsetStateRow | None:
    with db.session() as session:
        return session.get(HeadsetStateRow, device_id)


def test_the_headsets_report_is_stored_and_shown_by_role(
    console: tuple[ConsoleProcess, Database],
) -> None:
    process, db = console
    base = f"http://127.0.0.1:{process.port}"
    reporter = StateReporter(base, "1101", SIP_PASSWORD)
    try:
        reporter.report(state())
        wait_until(lambda: reporter.sent == 1, 10, "the console took the report")
    finally:
        reporter.close()
    row = stored(db, 1)
    assert row is not None and (row.hook, row.call, row.muted, row.volume) == (
        "off", "in_call", True, 70)

    supervisor = signed_in(process, "sam", "sup-pw")
    read = supervisor.get(f"{base}/api/devices/1101/state", timeout=10)
    assert read.status_code == 200
    body = read.json()
    assert (body["hook"], body["muted"], body["connected"], body["agent"]) == (
        "off", True, True, "Agent 1101")
    page = supervisor.get(f"{base}/devices/headsets", timeout=10).text
    assert 'data-extension="1101" data-connected="yes"' in page
    assert "Jabra Evolve2 65" in page and "off hook" in page and "muted" in page

    agent = signed_in(process, "a1101", "agent-pw")
    assert agent.get(f"{base}/api/devices/1101/state", timeout=10).status_code == 200
    desk = agent.get(f"{base}/agent/", timeout=10).text
    assert 'id="headset" data-connected="yes"' in desk and "off hook" in desk
    other = signed_in(process, "a1102", "agent-pw")
    assert other.get(f"{base}/api/devices/1101/state", timeout=10).status_code == 403
    assert other.get(f"{base}/api/devices/1102/state", timeout=10).status_code == 404
    assert other.get(f"{base}/devices/headsets", timeout=10).status_code == 403
    assert requests.get(f"{base}/api/devices/1101/state", timeout=10).status_code == 401


def test_wrong_credentials_and_foreign_reports_change_nothing(
    console: tuple[ConsoleProcess, Database],
) -> None:
    process, db = console
    base = f"http://127.0.0.1:{process.port}"
    url = f"{base}/api/devices/1101/state"
    headers = {"Content-Type": "application/json"}

    def post(body: dict[str, Any], auth: Any) -> requests.Response:
        return requests.post(url, data=json.dumps(body), auth=auth, headers=headers, timeout=10)

    unsigned = post(state().to_json(), None)
    assert unsigned.status_code == 401
    assert unsigned.headers["WWW-Authenticate"].startswith(f'Digest realm="{DOMAIN}"')
    assert post(state().to_json(), HTTPDigestAuth("1101", "not-it")).status_code == 401
    # 1102's own valid credentials do not sign 1101's address.
    assert post(state().to_json(), HTTPDigestAuth("1102", SIP_PASSWORD)).status_code == 401
    # Signed by 1101, but about 1102: refused.
    foreign = post(state("1102").to_json(), HTTPDigestAuth("1101", SIP_PASSWORD))
    assert foreign.status_code == 400 and "another extension" in foreign.json()["error"]
    broken = post({"type": "headset.state", "hook": "sideways"},
                  HTTPDigestAuth("1101", SIP_PASSWORD))
    assert broken.status_code == 400
    assert stored(db, 1) is None and stored(db, 2) is None
    # A forged nonce (not signed by this console) is refused even with the right hash shape.
    forged = requests.post(url, data="{}", headers={**headers, "Authorization": (
        f'Digest username="1101", realm="{DOMAIN}", nonce="{int(time.time())}.ab.cd", '
        'uri="/api/devices/1101/state", response="00", qop=auth, nc=00000001, cnonce="x"')},
        timeout=10)
    assert forged.status_code == 401
    assert "event=headset.refused" in process.log()
