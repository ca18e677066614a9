"""Trunks in Chromium against real carriers: an admin adds a trunk pointing at a carrier
(a second Kamailio that challenges with 401 digest, then answers 200) and the page shows it
registered within seconds, with only an HA1 digest stored; a trunk to a carrier that answers
403 shows the refusal, the carrier's reason and the next retry; an edit to a wrong secret
shows the carrier refusing it, and the right one registers again, all without restarting
Kamailio. Nothing secret reaches the page, the API or the audit log."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from console.admin.services import tokens
from console.admin.services.base import Actor
from store.admin_tables import AdminAudit
from store.kamailio_tables import uacreg
from store.models import Agent, Role, Trunk
from store.passwords import hash_password, sip_ha1
from telephony.testing.edge import EdgeUnderTest, running_edge
from tests.console.admin.test_admin_api import bearer
from tests.console.conftest import TEST_PASSWORD_COST, console_app, serve_threaded

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "admin password for tests"
DID = "390255501000"


def wait_until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    return condition()


class RefusingCarrier:
    """A registrar on raw UDP that answers every REGISTER 403 with its own reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.registers = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            lines = data.decode(errors="replace").split("\r\n")
            if not lines[0].startswith("REGISTER "):
                continue
            self.registers += 1
            copied = [line for line in lines[1:] if line.split(":", 1)[0].strip().lower()
                      in ("via", "from", "to", "call-id", "cseq")]
            to = next(i for i, line in enumerate(copied) if line.lower().startswith("to:"))
            copied[to] += ";tag=refuser"
            answer = "\r\n".join([f"SIP/2.0 403 {self.reason}", *copied,
                                  "Content-Length: 0", "", ""])
            self.sock.sendto(answer.encode(), source)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def carrier(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path / "carrier") as running:
        yield running


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path / "ours") as running:
        with running.db.session() as session:
            session.add(Agent(name="Telecom Admin", username="admin", role=Role.ADMIN,
                              password_hash=hash_password(ADMIN_PASSWORD, TEST_PASSWORD_COST)))
        yield running


@pytest.fixture
def console(ours: EdgeUnderTest) -> Iterator[tuple[str, Any]]:
    app = console_app(ours.db, SIP_DOMAIN=ours.settings.sip_domain,
                      VAR_DIR=str(ours.settings.var_dir))
    server, url = serve_threaded(app)
    yield url, app
    server.shutdown()
    server.server_close()
    app.extensions["centralino.db"].dispose()


def cell(page: Any, name: str) -> str:
    return str(page.inner_text(f"td[data-trunk-state='{name}']"))


def test_trunks_register_fail_with_the_carriers_answer_and_reload_live(
    carrier: EdgeUnderTest, ours: EdgeUnderTest, console: tuple[str, Any], page: Any
) -> None:
    url, app = console
    secret = carrier.add_device(DID, password="carrier-secret-1")
    refuser = RefusingCarrier("Account suspended")
    kamailio = ours.edge.process
    assert kamailio is not None
    try:
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/admin/")
        page.click("nav.subnav >> text=Trunks")
        page.wait_for_url(f"{url}/admin/trunks/")
        # -- a bad form: errors next to their fields, nothing stored -----------------------
        page.fill("#trunk-form input[name=name]", "Carrier One")
        page.fill("#trunk-form input[name=registrar]", "carrier; drop")
        page.fill("#trunk-form input[name=username]", DID)
        page.fill("#trunk-form input[name=secret]", "x" * 70)
        page.click("#trunk-form button[type=submit]")
        page.wait_for_selector("[data-field-error=name]:has-text('lower-case')")
        assert "host name" in page.inner_text("[data-field-error=registrar]")
        assert "at most 63" in page.inner_text("[data-field-error=secret]")
        assert "x" * 70 not in page.content()  # a refused secret is not echoed back
        # -- the real carrier: 401 digest, then 200 ----------------------------------------
        page.fill("#trunk-form input[name=name]", "carrier")
        page.fill("#trunk-form input[name=registrar]", carrier.uri_host)
        page.fill("#trunk-form input[name=username]", DID)
        page.fill("#trunk-form input[name=secret]", secret)
        page.fill("#trunk-form input[name=realm]", carrier.settings.sip_domain)
        page.fill("#trunk-form input[name=expires]", "60")
        page.click("#trunk-form button[type=submit]")
        page.wait_for_selector("td[data-trunk-state='carrier'] .badge.ok", timeout=20_000)
        assert "registered" in cell(page, "carrier")
        with ours.db.session() as session:
            trunk = session.scalar(select(Trunk).where(Trunk.name == "carrier"))
            assert trunk is not None and trunk.secret == ""
            assert trunk.secret_ha1 == sip_ha1(DID, carrier.settings.sip_domain, secret)
            row = session.execute(select(uacreg.c.auth_password, uacreg.c.auth_ha1)).one()
            assert row.auth_password == "" and row.auth_ha1 == trunk.secret_ha1
        # -- the refusing carrier: 403 with its reason and the next retry -------------------
        page.fill("#trunk-form input[name=name]", "suspended")
        page.fill("#trunk-form input[name=registrar]", f"127.0.0.1:{refuser.port}")
        page.fill("#trunk-form input[name=username]", "acct77")
        page.fill("#trunk-form input[name=secret]", "whatever-it-is")
        page.click("#trunk-form button[type=submit]")
        page.wait_for_selector("td[data-trunk-state='suspended'] .badge.off", timeout=20_000)
        refused = cell(page, "suspended")
        assert "403 Account suspended" in refused and "next try" in refused, refused
        assert refuser.registers >= 1
        # -- a wrong secret: the carrier's refusal shows; the right one registers again -----
        page.click("tr[data-trunk='carrier'] a")
        page.fill("#trunk-form input[name=secret]", "not-the-secret")
        page.click("#trunk-form button[type=submit]")
        page.wait_for_url(f"{url}/admin/trunks/")
        page.wait_for_selector("td[data-trunk-state='carrier'] .badge.off", timeout=20_000)
        assert "401" in cell(page, "carrier")
        page.click("tr[data-trunk='carrier'] a")
        page.fill("#trunk-form input[name=secret]", secret)
        page.click("#trunk-form button[type=submit]")
        page.wait_for_url(f"{url}/admin/trunks/")
        page.wait_for_selector("td[data-trunk-state='carrier'] .badge.ok", timeout=20_000)
        assert ours.edge.process is kamailio and kamailio.poll() is None  # never restarted
        # -- the API shows the same states, and no secret -----------------------------------
        client = app.test_client()
        api_token = make_token_for(ours)
        listed = client.get("/api/admin/trunks/", headers=bearer(api_token)).json
        states = {t["name"]: t["state"] for t in listed}
        assert states["carrier"]["status"] == "registered"
        assert states["suspended"]["status"] == "failed"
        assert states["suspended"]["last_code"] == 403
        assert {t["name"]: t["secret"] for t in listed} == {"carrier": "ha1",
                                                             "suspended": "plaintext"}
        assert secret not in page.content() and secret not in str(listed)
        with ours.db.session() as session:
            entries = session.scalars(select(AdminAudit).where(AdminAudit.target_kind == "trunk")
                                      .order_by(AdminAudit.id)).all()
            assert [e.action for e in entries] == ["trunk.create"] * 2 + ["trunk.update"] * 2
            assert secret not in str([(e.before, e.after) for e in entries])
            assert entries[-1].after is not None and entries[-1].after["auth_ha1"] == "(changed)"
    finally:
        refuser.close()


def make_token_for(edge: EdgeUnderTest) -> str:
    """An admin API token for the admin of *edge*'s database (one audit entry of its own)."""
    with edge.db.session() as session:
        admin = session.scalar(select(Agent).where(Agent.username == "admin"))
        assert admin is not None
        made = tokens.create(session, Actor(admin.id, "admin"), {"label": "tests"})
    return made.secret
