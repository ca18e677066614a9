"""The switch drives desk phones through the real edge: a check-sync after an admin change
makes the phone fetch its file and the change turns "applied"; a phone that does not fetch is
"not applied" with the reason; a check-sync for a phone on a live call waits for the call's
end; message waiting reaches the phone; an unregistered phone's command fails with why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from console.provisioning.enrol import Enrolled, enrol_desk_phone
from console.testing.console_process import ConsoleProcess
from store.db import Database
from store.desk_phones import config_changed, confirmation, last_command, queue_command
from store.models import Agent, DeviceProvisioning, PhoneCommand, Role
from store.passwords import ScryptCost, hash_password
from telephony.testing.deskphone import DeskPhone
from telephony.testing.edge import EdgeUnderTest, running_edge
from telephony.testing.workers import wait_until


@dataclass
class Rig:
    root: Path
    edge: EdgeUnderTest
    console: ConsoleProcess

    @property
    def db(self) -> Database:
        return self.edge.db

    def phone(self, vendor_name: str, mac: str, extension: str,
              register: bool = True) -> tuple[Enrolled, DeskPhone]:
        enrolled = enrol_desk_phone(self.db, self.root, mac=mac, vendor_name=vendor_name,
                                    extension=extension, sip_domain=self.edge.settings.sip_domain)
        phone = DeskPhone(vendor_name, enrolled.mac, enrolled.token, extension,
                          enrolled.sip_password, self.edge.settings.sip_domain, self.edge.address,
                          f"http://127.0.0.1:{self.console.port}/provisioning/")
        if register:
            assert phone.register() == 200
        return enrolled, phone

    def command(self, device_id: int) -> PhoneCommand:
        with self.db.session() as session:
            command = last_command(session, device_id, ("check-sync", "reboot", "mwi"))
            assert command is not None
            session.expunge(command)
            return command

    def verdict(self, device_id: int, confirm_seconds: float = 60.0) -> tuple[str, str]:
        with self.db.session() as session:
            provisioning = session.get(DeviceProvisioning, device_id)
            assert provisioning is not None
            found = confirmation(provisioning, last_command(session, device_id, ("check-sync",)),
                                 confirm_seconds=confirm_seconds)
            return found.state, found.reason


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with running_edge(tmp_path) as edge:
        console = ConsoleProcess(tmp_path, edge.settings.database_url).start()
        try:
            yield Rig(tmp_path, edge, console)
        finally:
            console.stop()


@pytest.mark.parametrize(("vendor_name", "event"), [("yealink", "check-sync;reboot=false"),
                                                    ("cisco", "resync")])
def test_a_change_is_applied_when_the_phone_fetched_it(rig: Rig, vendor_name: str,
                                                       event: str) -> None:
    enrolled, phone = rig.phone(vendor_name, "00:15:65:00:00:01", "3201")
    try:
        version = config_changed(rig.db, enrolled.device_id)
        assert rig.verdict(enrolled.device_id)[0] == "waiting"
        phone.wait(lambda: phone.fetched, 10, "fetch after the check-sync")
        assert phone.notifies[0][0] == event
        assert rig.command(enrolled.device_id).state == "sent"
        assert rig.command(enrolled.device_id).answer_code == 200
        wait_until(lambda: rig.verdict(enrolled.device_id)[0] == "applied", 5, "applied")
        assert f"version {version}" in rig.verdict(enrolled.device_id)[1]
    finally:
        phone.close()


def test_a_phone_that_does_not_fetch_is_not_applied_with_the_reason(rig: Rig) -> None:
    enrolled, phone = rig.phone("polycom", "00:04:f2:00:00:02", "3202")
    phone.provisioning_url = "http://127.0.0.1:9/"  # its server setting is wrong
    try:
        config_changed(rig.db, enrolled.device_id)
        phone.wait(lambda: phone.notifies, 10, "check-sync")
        wait_until(lambda: rig.command(enrolled.device_id).state == "sent", 5, "sent")
        state, reason = rig.verdict(enrolled.device_id, confirm_seconds=0.0)
        assert state == "not applied"
        assert "did not fetch its file within 0 s" in reason
    finally:
        phone.close()


def test_a_phone_that_is_not_registered_is_not_applied_with_the_reason(rig: Rig) -> None:
    enrolled, phone = rig.phone("snom", "00:04:13:00:00:03", "3203", register=False)
    try:
        config_changed(rig.db, enrolled.device_id)
        wait_until(lambda: rig.command(enrolled.device_id).state == "failed", 10, "failed")
        state, reason = rig.verdict(enrolled.device_id)
        assert (state, reason) == ("not applied", "the phone is not registered (404 Not Found)")
        assert not phone.notifies
    finally:
        phone.close()


def test_message_waiting_reaches_the_phone(rig: Rig) -> None:
    enrolled, phone = rig.phone("yealink", "00:15:65:00:00:04", "3204")
    try:
        with rig.db.session() as session:
            queue_command(session, enrolled.device_id, "mwi", {"new": 2, "old": 1})
        event, body = phone.wait(lambda: phone.notifies and phone.notifies[0], 10, "MWI")
        assert event == "message-summary"
        assert "Messages-Waiting: yes" in body and "Voice-Message: 2/1 (0/0)" in body
        assert not phone.fetched
    finally:
        phone.close()


def test_the_edge_refuses_a_check_sync_from_anyone_but_the_switch(rig: Rig) -> None:
    """What the edge already enforced, now with a registered desk phone as the target."""
    enrolled, phone = rig.phone("yealink", "00:15:65:00:00:05", "3205")
    other = DeskPhone("yealink", "001565000006", "x", "3205", enrolled.sip_password,
                      rig.edge.settings.sip_domain, rig.edge.address, "")
    try:
        with rig.db.session() as session:
            assert session.scalars(select(PhoneCommand)).all() == []
        other._send("\r\n".join([
            f"NOTIFY sip:3205@{rig.edge.uri_host} SIP/2.0", other._via(), "Max-Forwards: 70",
            "From: <sip:x@evil>;tag=1", "To: <sip:3205@x>", "Call-ID: forged", "CSeq: 1 NOTIFY",
            "Event: check-sync;reboot=true", "Content-Length: 0", "", ""]))
        reply = other.wait(lambda: other.replies and other.replies[0], 5, "answer")
        assert reply.split()[1] in ("401", "407", "405")
        assert not phone.notifies
    finally:
        phone.close()
        other.close()


def test_the_admin_page_re_provisions_and_turns_applied(rig: Rig) -> None:
    """The inventory page: a re-provision from the page reaches the phone, which fetches its
    file, and the page then says "applied" with model and firmware from its User-Agent."""
    with rig.db.session() as session:
        session.add(Agent(name="Admin", username="admin", role=Role.ADMIN,
                          password_hash=hash_password("admin-pw", ScryptCost(2**10, 8, 1))))
    enrolled, phone = rig.phone("yealink", "00:15:65:00:00:07", "3207")
    try:
        cookie = rig.console.sign_in("admin", "admin-pw")
        base = f"http://127.0.0.1:{rig.console.port}"
        browser = requests.Session()  # keeps the cookie the console updates
        browser.cookies.set("centralino_session", cookie, domain="127.0.0.1", path="/")
        page = browser.get(f"{base}/devices/phones", timeout=10).text
        assert 'data-state="waiting"' in page or 'data-state="not applied"' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        answer = browser.post(f"{base}/devices/phones/{enrolled.device_id}/resync",
                              data={"csrf_token": token.group(1)}, timeout=10,
                              allow_redirects=False)
        assert answer.status_code == 302, answer.text[-300:]
        phone.wait(lambda: phone.fetched, 10, "fetch after the page's re-provision")

        def shown() -> str:
            return browser.get(f"{base}/devices/phones", timeout=10).text

        wait_until(lambda: 'data-state="applied"' in shown(), 5, "the page says applied")
        page = shown()
        assert "<td>T54W</td>" in page and "<td>96.86.0.70</td>" in page
        assert "<td>yes</td>" in page  # registered
        # Without the CSRF token nothing is queued.
        refused = browser.post(f"{base}/devices/phones/{enrolled.device_id}/reboot",
                               timeout=10, allow_redirects=False)
        assert refused.status_code == 400
        assert rig.command(enrolled.device_id).kind == "check-sync"
    finally:
        phone.close()
