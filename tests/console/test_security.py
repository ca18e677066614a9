"""Console security: roles per page and API, CSRF, throttled passwords, sessions, headers."""

from __future__ import annotations

import pytest

from console.hub import LiveCall
from tests.console.conftest import Deployment, csrf_token, sign_in

PAGES = {"/agent/": "agent", "/supervisor/": "supervisor", "/admin/": "admin"}
# Who may open what: supervisors also take calls, so the desk is theirs too.
ALLOWED = {
    "alice": {"/agent/"},
    "sara": {"/agent/", "/supervisor/"},
    "admin": {"/admin/"},
}
GET_APIS = {
    "/agent/api/current": {"alice", "sara"},
    "/agent/events": {"alice", "sara"},
    "/agent/search": {"alice", "sara"},
    "/supervisor/api/calls": {"sara"},
    "/supervisor/events": {"sara"},
    "/supervisor/api/floor": {"sara"},
    "/supervisor/floor/stream": {"sara"},
    "/supervisor/api/phrases": {"sara", "admin"},
}
POST_APIS = {
    "/agent/api/state": {"alice", "sara"},
    "/agent/api/credits": {"alice", "sara"},
    "/agent/api/wrapup": {"alice", "sara"},
    "/admin/settings/credit-threshold": {"admin"},
    "/agent/api/raise-hand": {"alice", "sara"},
    "/supervisor/api/alerts/1/ack": {"sara"},
}


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_each_role_reaches_only_its_pages(deployment: Deployment, username: str) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, username)
    for path in PAGES:
        status = client.get(path).status_code
        assert status == (200 if path in ALLOWED[username] else 403), (username, path, status)


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_each_role_reaches_only_its_apis(deployment: Deployment, username: str) -> None:
    deployment.app.config["SSE_MAX_SECONDS"] = 0.01
    client = deployment.app.test_client()
    token = sign_in(client, deployment, username)
    for path, allowed in GET_APIS.items():
        response = client.get(path)
        assert (response.status_code != 403) == (username in allowed), (username, path)
        response.close()
    for path, allowed in POST_APIS.items():
        response = client.post(path, json={}, headers={"X-CSRFToken": token})
        assert "CSRF" not in response.text
        assert (response.status_code != 403) == (username in allowed), (
            username,
            path,
            response.status_code,
        )


def test_signed_out_visitors_are_sent_to_sign_in(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location
    assert client.get("/agent/api/current").status_code == 401
    assert client.get("/agent/events").status_code == 401


def test_csrf_token_required_on_forms_and_json(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    refused = client.post(
        "/login", data={"username": "alice", "password": deployment.password("alice")}
    )
    assert refused.status_code == 400
    token = sign_in(client, deployment, "alice")
    assert (
        client.post("/agent/api/state", json={"state": "paused", "reason": "x"}).status_code == 400
    )
    forged = client.post(
        "/agent/api/state", json={"state": "paused", "reason": "x"}, headers={"X-CSRFToken": "no"}
    )
    assert forged.status_code == 400 and "CSRF" in forged.json["error"]
    good = client.post(
        "/agent/api/state",
        json={"state": "paused", "reason": "lunch"},
        headers={"X-CSRFToken": token},
    )
    assert good.status_code == 200 and good.json == {"state": "paused", "reason": "lunch"}
    assert client.post("/logout").status_code == 400


def test_wrong_passwords_are_rate_limited_per_user_and_address(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = csrf_token(client.get("/login").text)

    def attempt(password: str, address: str = "10.0.0.1", username: str = "bruno") -> int:
        return client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    assert [attempt("wrong") for _ in range(5)] == [401] * 5
    limited = client.post(
        "/login",
        data={"username": "bruno", "password": deployment.password("bruno"), "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert attempt("wrong", address="10.0.0.1", username="alice") == 401
    assert attempt(deployment.password("bruno"), address="10.0.0.2") == 302


def test_unknown_user_and_wrong_password_look_the_same(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = csrf_token(client.get("/login").text)
    nobody = client.post(
        "/login", data={"username": "nobody", "password": "x", "csrf_token": token}
    )
    wrong = client.post("/login", data={"username": "alice", "password": "x", "csrf_token": token})
    assert nobody.status_code == wrong.status_code == 401
    assert "Wrong user name or password." in nobody.text and "Wrong user name" in wrong.text


def test_sign_in_ignores_foreign_next_and_sets_strict_headers(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "alice", "password": deployment.password("alice"), "csrf_token": token},
    )
    assert response.location == "/agent/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/agent/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_agent_may_not_drive_or_credit_someone_elses_call(deployment: Deployment) -> None:
    hub = deployment.app.extensions["centralino.hub"]
    hub.track(
        LiveCall("c-bruno", agent_id=2, worker="w", worker_url="http://127.0.0.1:9", customer_id=1)
    )
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "alice")
    headers = {"X-CSRFToken": token}
    assert client.post("/agent/api/calls/c-bruno/hangup", headers=headers).status_code == 404
    credit = client.post(
        "/agent/api/credits",
        json={
            "call_id": "c-bruno",
            "account_id": 1,
            "amount": "5",
            "currency": "EUR",
            "reason": "x",
        },
        headers=headers,
    )
    assert credit.status_code == 404
