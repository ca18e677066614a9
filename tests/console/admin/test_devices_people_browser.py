"""Acceptance (issue 10): in Chromium an admin adds a device and an agent; a test phone
registers through the real Kamailio edge with the generated credentials and shows up on the
page as registered; the agent signs in with the password shown once; disabling the device in
the page unregisters it at the edge, and the old credentials are refused from then on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from console.testing.browser import sign_in_agent
from store.admin_tables import AdminAudit
from store.kamailio_tables import location
from store.models import Agent, Role
from store.passwords import hash_password
from telephony.testing.edge import EdgeUnderTest, running_edge
from telephony.testing.phones import Phone
from tests.console.conftest import TEST_PASSWORD_COST, console_app, serve_threaded
from tests.harness.sipclient import SipClient

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "admin password for tests"


def wait_until(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    return condition()


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path / "edge") as running:
        with running.db.session() as session:
            session.add(Agent(name="Telecom Admin", username="admin", role=Role.ADMIN,
                              password_hash=hash_password(ADMIN_PASSWORD, TEST_PASSWORD_COST)))
        yield running


@pytest.fixture
def console_url(edge: EdgeUnderTest) -> Iterator[str]:
    app = console_app(edge.db, SIP_DOMAIN=edge.settings.sip_domain)
    server, url = serve_threaded(app)
    yield url
    server.shutdown()
    server.server_close()
    app.extensions["centralino.db"].dispose()


@pytest.fixture
def phone() -> Iterator[Phone]:
    handset = Phone.start("deskphone")
    yield handset
    handset.stop()


def contacts(edge: EdgeUnderTest, extension: str) -> int:
    with edge.db.session() as session:
        return session.scalar(select(func.count()).select_from(location)
                              .where(location.c.username == extension)) or 0


def in_kamailio(edge: EdgeUnderTest, extension: str) -> bool:
    return f"AoR: {extension}\n" in edge.edge.rpc("ul.dump")


def test_admin_adds_device_and_agent_phone_registers_agent_signs_in(
    edge: EdgeUnderTest, console_url: str, phone: Phone, page: Any
) -> None:
    sign_in_agent_as_admin(page, console_url)
    # -- the device --------------------------------------------------------------------------
    page.click("#add-device")
    page.fill("input[name=extension]", "1")  # wrong first: the error sits next to the field
    page.select_option("select[name=kind]", "desk_phone")
    page.fill("input[name=mac]", "00:15:65:zz:00:01")
    page.click("#device-form button[type=submit]")
    assert "2 to 15 digits" in page.inner_text("[data-field-error=extension]")
    assert "is not a MAC address" in page.inner_text("[data-field-error=mac]")
    page.fill("input[name=extension]", "3101")
    page.fill("input[name=mac]", "00:15:65:aa:00:01")
    page.fill("input[name=label]", "Front desk")
    page.fill("input[name=vendor]", "Yealink")
    page.click("#device-form button[type=submit]")
    username = page.inner_text("#sip-username").strip()
    password = page.inner_text("#sip-password").strip()
    assert username == "3101" and len(password) >= 16
    assert page.inner_text("#sip-domain").strip() == edge.settings.sip_domain
    # -- the phone registers through the real edge with them ----------------------------------
    registered = phone.register(edge.uri_host, username, password,
                                domain=edge.settings.sip_domain)
    assert registered["code"] == 200, registered
    page.goto(f"{console_url}/admin/devices/")
    row = page.locator("tr[data-extension='3101']")
    assert "registered" in row.locator(".registration").inner_text()
    assert "Centralino" in row.locator(".user-agent").inner_text()  # the phone's User-Agent
    assert row.locator(".last-seen").inner_text().strip()
    # -- the agent ----------------------------------------------------------------------------
    page.goto(f"{console_url}/admin/people/new")
    page.fill("input[name=name]", "Nina Rossi")
    page.fill("input[name=username]", "nina")
    page.select_option("select[name=role]", "agent")
    page.fill("input[name=skills]", "billing, italian")
    page.select_option("select[name=extension]", "3101")
    page.click("#person-form button[type=submit]")
    assert page.inner_text("#new-username").strip() == "nina"
    agent_password = page.inner_text("#new-password").strip()
    agent_browser = page.context.browser.new_context()  # the agent's own browser
    agent_page = agent_browser.new_page()
    sign_in_agent(agent_page, console_url, "nina", agent_password)
    assert "Nina Rossi" in agent_page.inner_text("header")
    agent_browser.close()
    # -- disabling the device unregisters it, and its credentials stop working ----------------
    page.goto(f"{console_url}/admin/devices/")
    page.fill("input[type=search]", "front")
    assert page.locator("#devices tbody tr:visible").count() == 1
    page.click("tr[data-extension='3101'] a")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/disable'] button")
    page.wait_for_selector("tr[data-extension='3101'] .badge.off")
    assert contacts(edge, "3101") == 0
    assert wait_until(lambda: not in_kamailio(edge, "3101")), "still in Kamailio's memory"
    with SipClient(edge.address) as sip:  # the old credentials are refused from now on
        refused = sip.register(username, password, edge.settings.sip_domain)
    assert refused is not None and refused.status == 401
    assert contacts(edge, "3101") == 0
    # -- all of it is in the audit log, without the secrets ----------------------------------
    page.goto(f"{console_url}/admin/audit/")
    log = page.inner_text("#audit")
    for action in ("device.create", "person.create", "device.disable"):
        assert action in log
    assert password not in log and agent_password not in log
    with edge.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AdminAudit)) == 3


def sign_in_agent_as_admin(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/admin/")
    page.click("nav.subnav >> text=Devices")
    page.wait_for_url(f"{url}/admin/devices/")
