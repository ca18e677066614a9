"""The admin API and pages over one service layer: tokens (401/403), people, devices, and the
append-only audit log with secrets redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DatabaseError

from store.admin_tables import AdminApiToken, AdminAudit
from store.kamailio_tables import location
from store.models import DISABLED_HA1, Agent, Device, utcnow
from store.passwords import sip_ha1
from tests.console.conftest import Deployment, csrf_token, sign_in

AREA_PAGES = ["/admin/people/", "/admin/devices/", "/admin/tokens/", "/admin/audit/",
              "/admin/people/new", "/admin/devices/new", "/admin/trunks/"]
AREA_APIS = ["/api/admin/people/", "/api/admin/devices/", "/api/admin/audit/",
             "/api/admin/trunks/"]


def make_token(deployment: Deployment, client: Any = None) -> str:
    client = client or deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    page = client.post("/admin/tokens/", data={"label": "tests", "csrf_token": token})
    assert page.status_code == 200, page.text
    start = page.text.index('id="token-secret">') + len('id="token-secret">')
    return page.text[start:page.text.index("<", start)]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("username", ["alice", "sara"])
def test_agents_and_supervisors_get_403_on_every_admin_page_and_api(
    deployment: Deployment, username: str
) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, username)
    for path in AREA_PAGES + AREA_APIS:
        assert client.get(path).status_code == 403, path
    assert client.post("/api/admin/devices/", json={"extension": "3001"}).status_code == 403


def test_the_api_wants_a_valid_token(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    for headers in ({}, bearer("cta_nonsense"), bearer("nonsense"), {"Authorization": "Basic x"}):
        response = client.get("/api/admin/people/", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # an admin's browser session is not enough: scripts use tokens, so no CSRF surface
    sign_in(client, deployment, "admin")
    assert client.get("/api/admin/people/").status_code == 401


def test_a_token_is_shown_once_stored_hashed_and_revocable(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    secret = make_token(deployment, client)
    assert secret.startswith("cta_") and len(secret) > 40
    assert client.get("/api/admin/people/", headers=bearer(secret)).status_code == 200
    with deployment.db.session() as session:
        row = session.scalars(select(AdminApiToken)).one()
        assert secret not in (row.secret_sha256, row.hint) and row.last_used_at is not None
        token_id = row.id
    listing = client.get("/admin/tokens/").text
    assert secret not in listing and "tests" in listing
    token = csrf_token(listing)
    client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert client.get("/api/admin/people/", headers=bearer(secret)).status_code == 401


def test_a_token_of_someone_no_longer_admin_gets_403(deployment: Deployment) -> None:
    secret = make_token(deployment)
    with deployment.db.session() as session:
        admin = session.scalars(select(Agent).where(Agent.username == "admin")).one()
        admin.role = admin.role.SUPERVISOR
    assert deployment.app.test_client().get(
        "/api/admin/people/", headers=bearer(secret)).status_code == 403


def test_devices_through_the_api(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/devices/", headers=headers, json={
        "extension": "3001", "kind": "desk_phone", "vendor": "Yealink", "model": "T54W",
        "mac": "00-15-65-AA-BB-01", "label": "Desk 1"})
    assert made.status_code == 201, made.text
    device = made.json
    password = device["sip_password"]
    assert device["mac"] == "00:15:65:aa:bb:01" and device["registrations"] == []
    with deployment.db.session() as session:
        row = session.get(Device, device["id"])
        assert row is not None and row.ha1 == sip_ha1("3001", device["sip_domain"], password)
    # a second time: errors per field, nothing changed
    again = client.post("/api/admin/devices/", headers=headers, json={
        "extension": "3001", "kind": "toaster", "mac": "zz"})
    assert again.status_code == 422
    assert set(again.json["fields"]) == {"extension", "kind", "mac"}
    assert "already exists" in again.json["fields"]["extension"]
    # registration state from Kamailio's location table
    with deployment.db.session() as session:
        session.execute(insert(location).values(
            ruid="r1", username="3001", contact="sip:3001@192.0.2.9:5062",
            user_agent="Yealink T54W",
            expires=utcnow().replace(year=utcnow().year + 1), last_modified=utcnow()))
    seen = client.get(f"/api/admin/devices/{device['id']}", headers=headers).json
    assert seen["registrations"][0]["user_agent"] == "Yealink T54W"
    edited = client.patch(f"/api/admin/devices/{device['id']}", headers=headers,
                          json={"label": "Desk 2"})
    assert edited.status_code == 200 and edited.json["label"] == "Desk 2"
    assert edited.json["vendor"] == "Yealink"  # fields not sent are kept
    off = client.post(f"/api/admin/devices/{device['id']}/disable", headers=headers)
    assert off.status_code == 200 and off.json["disabled"] is True
    with deployment.db.session() as session:
        row = session.get(Device, device["id"])
        assert row is not None and row.ha1.startswith(DISABLED_HA1)
        assert not session.execute(select(location).where(location.c.username == "3001")).all()
    on = client.post(f"/api/admin/devices/{device['id']}/enable", headers=headers)
    assert on.json["disabled"] is False
    with deployment.db.session() as session:
        row = session.get(Device, device["id"])
        assert row is not None and row.ha1 == sip_ha1("3001", device["sip_domain"], password)


def test_people_through_the_api_and_sign_in(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/people/", headers=headers, json={
        "name": "Nina Rossi", "username": "nina", "role": "agent", "skills": ["billing"],
        "credit_limit": "25", "extension": "1001"})
    assert made.status_code == 201, made.text
    person = made.json
    assert person["extension"] == "1001" and person["credit_limit_cents"] == 2500
    bad = client.post("/api/admin/people/", headers=headers, json={
        "name": "", "username": "nina", "role": "king", "skills": ["Bad Skill"]})
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"name", "username", "role", "skills"}
    browser = deployment.app.test_client()
    token = csrf_token(browser.get("/login").text)
    signed = browser.post("/login", data={"username": "nina", "password": person["password"],
                                          "csrf_token": token})
    assert signed.status_code == 302 and signed.location.endswith("/agent/")
    off = client.post(f"/api/admin/people/{person['id']}/disable", headers=headers)
    assert off.status_code == 200 and off.json["disabled"] is True
    assert browser.get("/agent/").status_code == 302  # signed out at once
    token = csrf_token(browser.get("/login").text)
    refused = browser.post("/login", data={"username": "nina", "password": person["password"],
                                           "csrf_token": token})
    assert refused.status_code == 401


def test_the_one_time_link_sets_a_password_once(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/people/", headers=headers, json={
        "name": "Leo", "username": "leo", "role": "supervisor", "password": "link"}).json
    link = made["password_link"]
    assert "password" not in made
    path = link[link.index("/welcome/"):]
    visitor = deployment.app.test_client()
    token = csrf_token(visitor.get(path).text)
    short = visitor.post(path, data={"new": "short", "repeat": "short", "csrf_token": token})
    assert short.status_code == 400
    chosen = "a long enough password"
    done = visitor.post(path, data={"new": chosen, "repeat": chosen, "csrf_token": token})
    assert done.status_code == 302
    assert visitor.get(path).status_code == 410  # used up
    token = csrf_token(visitor.get("/login").text)
    signed = visitor.post("/login", data={"username": "leo", "password": chosen,
                                          "csrf_token": token})
    assert signed.status_code == 302


def test_every_change_is_audited_with_secrets_redacted(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    secret = make_token(deployment)
    headers = bearer(secret)
    device = client.post("/api/admin/devices/", headers=headers,
                         json={"extension": "3005", "kind": "softphone"}).json
    client.post(f"/api/admin/devices/{device['id']}/credentials", headers=headers)
    person = client.post("/api/admin/people/", headers=headers, json={
        "name": "Ada", "username": "ada", "role": "agent"}).json
    entries = client.get("/api/admin/audit/", headers=headers).json
    actions = [entry["action"] for entry in entries]
    assert actions[:4] == ["person.create", "device.credentials", "device.create", "token.create"]
    dumped = json.dumps(entries)
    for leaked in (secret, device["sip_password"], person["password"]):
        assert leaked not in dumped
    credentials = entries[1]
    assert credentials["before"]["ha1"] == credentials["after"]["ha1"] == "(changed)"
    assert entries[2]["after"]["ha1"] == "(secret)"  # made, not changed: still never shown
    assert credentials["via"] == "api" and credentials["actor"] == "admin"
    assert credentials["address"]
    assert entries[0]["before"] is None and entries[0]["after"]["username"] == "ada"
    filtered = client.get("/api/admin/audit/?kind=device", headers=headers).json
    assert {entry["target"]["kind"] for entry in filtered} == {"device"}
    page = deployment.app.test_client()
    sign_in(page, deployment, "admin")
    assert "device.credentials" in page.get("/admin/audit/?kind=device").text


def test_the_audit_log_is_append_only(deployment: Deployment) -> None:
    make_token(deployment)
    with pytest.raises(PermissionError), deployment.db.session() as session:
        session.scalars(select(AdminAudit)).first().action = "nothing"  # type: ignore[union-attr]
    for statement in ("UPDATE admin_audit SET actor = 'x'", "DELETE FROM admin_audit"):
        with pytest.raises(DatabaseError), deployment.db.session() as session:
            session.execute(text(statement))


def test_page_forms_show_errors_next_to_the_field(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    page = client.post("/admin/devices/", data={"extension": "1", "kind": "softphone",
                                                "mac": "nope", "csrf_token": token})
    assert page.status_code == 422
    assert 'data-field-error="extension">2 to 15 digits<' in page.text
    assert 'data-field-error="mac">' in page.text and "is not a MAC address" in page.text
    with deployment.db.session() as session:
        assert session.scalar(select(Device).where(Device.extension == "1")) is None
