"""Support numbers, DIDs and queues through the admin API and pages: validation per field,
in-use numbers and queues refused with who uses them, every change audited; and a number added
through the API is served by a running Kamailio edge without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from store.models import Agent, Call, CallState, Queue, Role, Trunk
from store.passwords import hash_password
from telephony.testing.edge import running_edge
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import (
    TEST_PASSWORD_COST,
    Deployment,
    console_app,
    csrf_token,
    sign_in,
)


def test_numbers_and_dids(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    with deployment.db.session() as session:
        session.add(Trunk(name="carrier", registrar="127.0.0.1:9", username="u", secret="s"))
    made = client.post("/api/admin/numbers/", headers=headers, json={
        "number": "+39021234", "name": "Italian support", "locale": "it", "queue": "italian"})
    assert made.status_code == 201, made.text
    number = made.json
    bad = client.post("/api/admin/numbers/", headers=headers, json={
        "number": "800; DROP", "name": "", "locale": "Italian", "flow": "nope"})
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"number", "name", "locale", "flow"}
    taken = client.post("/api/admin/numbers/", headers=headers, json={"number": "800",
                                                                       "name": "again"})
    assert "already the support number" in taken.json["fields"]["number"]
    did = client.post("/api/admin/numbers/dids", headers=headers, json={
        "number": "0212345678", "trunk": "carrier", "support_number": "+39021234"})
    assert did.status_code == 201, did.text
    refused = client.delete(f"/api/admin/numbers/{number['id']}", headers=headers)
    assert refused.status_code == 409 and "DID 0212345678" in refused.json["error"]
    assert "italian" in refused.json["error"]  # and which queue it feeds
    with deployment.db.session() as session:
        session.add(Call(id="live-1", caller="sip:x@y", dialled="0212345678",
                         state=CallState.IVR))
    busy = client.delete(f"/api/admin/numbers/dids/{did.json['id']}", headers=headers)
    assert busy.status_code == 409 and "1 live call" in busy.json["error"]
    with deployment.db.session() as session:
        session.get(Call, "live-1").state = CallState.ENDED  # type: ignore[union-attr]
    assert client.delete(f"/api/admin/numbers/dids/{did.json['id']}",
                         headers=headers).status_code == 200
    assert client.delete(f"/api/admin/numbers/{number['id']}", headers=headers).status_code == 200
    actions = [e["action"] for e in client.get("/api/admin/audit/?limit=5", headers=headers).json]
    assert actions[:4] == ["number.delete", "did.delete", "did.create", "number.create"]


def test_queues(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/queues/", headers=headers, json={
        "name": "billing", "skill": "billing", "priority": 5,
        "relationship_wait_seconds": 30, "ring_timeout_seconds": 20})
    assert made.status_code == 201, made.text
    bad = client.patch(f"/api/admin/queues/{made.json['id']}", headers=headers, json={
        "ring_timeout_seconds": 2, "priority": "high"})
    assert bad.status_code == 422
    assert set(bad.json["fields"]) == {"ring_timeout_seconds", "priority"}
    ok = client.patch(f"/api/admin/queues/{made.json['id']}", headers=headers,
                      json={"ring_timeout_seconds": 25})
    assert ok.json["ring_timeout_seconds"] == 25 and ok.json["relationship_wait_seconds"] == 30
    support = client.post("/api/admin/queues/", headers=headers, json={"name": "support"}).json
    refused = client.delete(f"/api/admin/queues/{support['id']}", headers=headers)
    assert refused.status_code == 409 and "support number 800" in refused.json["error"]
    page = deployment.app.test_client()
    token = sign_in(page, deployment, "admin")
    form = page.post(f"/admin/queues/{made.json['id']}", data={
        "ring_timeout_seconds": "500", "csrf_token": token})
    assert form.status_code == 422
    assert 'data-field-error="ring_timeout_seconds">between 5 and 120<' in form.text



def test_a_queue_asks_for_the_survey_from_its_admin_page(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    made = client.post("/api/admin/queues/", headers=bearer(make_token(deployment)),
                       json={"name": "care"})
    assert made.json["survey_enabled"] is False and made.json["survey_cap_days"] == 7
    page = deployment.app.test_client()
    token = sign_in(page, deployment, "admin")
    url = f"/admin/queues/{made.json['id']}"
    assert 'name="survey_enabled"' in page.get(url).text
    on = page.post(url, data={"survey_enabled": "1", "survey_cap_days": "3", "csrf_token": token})
    assert on.status_code == 302
    assert "checked" in page.get(url).text.split('name="survey_enabled"')[1].split(">")[0]
    bad = page.post(url, data={"survey_cap_days": "999", "csrf_token": token})
    assert 'data-field-error="survey_cap_days">between 0 and 365<' in bad.text
    off = page.post(url, data={"survey_enabled": "0", "csrf_token": token})  # unchecked box
    assert off.status_code == 302
    with deployment.db.session() as session:
        queue = session.get(Queue, made.json["id"])
        assert queue is not None and queue.survey_enabled is False and queue.survey_cap_days == 3

@pytest.mark.e2e
def test_a_new_number_reaches_the_running_edge_without_restart(tmp_path: Path) -> None:
    with running_edge(tmp_path / "edge") as edge:
        with edge.db.session() as session:
            session.add(Agent(name="Admin", username="admin", role=Role.ADMIN,
                              password_hash=hash_password("admin password!", TEST_PASSWORD_COST)))
        app = console_app(edge.db)
        client = app.test_client()
        token = csrf_token(client.get("/login").text)
        client.post("/login", data={"username": "admin", "password": "admin password!",
                                    "csrf_token": token})
        token = csrf_token(client.get("/admin/tokens/").text)
        page = client.post("/admin/tokens/", data={"label": "t", "csrf_token": token}).text
        start = page.index('id="token-secret">') + len('id="token-secret">')
        headers = bearer(page[start:page.index("<", start)])
        pid = edge.edge.process.pid if edge.edge.process else None
        assert client.post("/api/admin/numbers/", headers=headers, json={
            "number": "4455", "name": "New line"}).status_code == 201
        deadline = time.monotonic() + 10
        while "4455" not in edge.edge.numbers and time.monotonic() < deadline:
            time.sleep(0.1)
        assert edge.edge.numbers.get("4455") == "4455"
        assert "4455" in edge.edge.rpc("htable.dump", "dialled")  # in Kamailio itself
        assert edge.edge.process is not None and edge.edge.process.pid == pid  # no restart
        app.extensions["centralino.db"].dispose()
