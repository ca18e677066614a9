"""Sessions: sign-out revokes every copy of the cookie, sign-ins last 12 hours from sign-in
(not sliding), cookies are Secure over HTTPS, and sign-ins are logged without passwords."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from store.models import Agent
from tests.console.conftest import Deployment, console_app, csrf_token, sign_in

COOKIE = "centralino_session"
SECURITY_LOG = "centralino.security"


def cookie_of(client: Any) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Any, value: str) -> Any:
    """A fresh browser (or an attacker) that presents a copied session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def test_a_signed_out_cookie_is_refused_when_replayed(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "alice")
    copied = cookie_of(client)
    assert replay(deployment.app, copied).get("/agent/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    caplog.set_level(logging.INFO, logger=SECURITY_LOG)
    stolen = replay(deployment.app, copied)
    page = stolen.get("/agent/")
    assert page.status_code == 302 and "/login" in page.location
    assert stolen.get("/agent/api/current").status_code == 401
    assert replay(deployment.app, copied).get("/agent/events").status_code == 401
    assert any(
        "event=session.refused user=alice" in r.message and "reason=revoked" in r.message
        for r in caplog.records
    )
    # Signing in again works, with a new cookie.
    sign_in(client, deployment, "alice")
    assert client.get("/agent/").status_code == 200


def test_sign_out_in_one_console_process_is_seen_by_another(deployment: Deployment) -> None:
    other = console_app(deployment.db)  # same database and secret: a second console process
    try:
        client = deployment.app.test_client()
        token = sign_in(client, deployment, "bruno")
        copied = cookie_of(client)
        assert replay(other, copied).get("/agent/").status_code == 200
        client.post("/logout", data={"csrf_token": token})
        assert replay(other, copied).get("/agent/").status_code == 302
    finally:
        other.extensions["centralino.db"].dispose()


def test_a_sign_in_lasts_twelve_hours_from_sign_in_whatever_happens_since(
    deployment: Deployment,
) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, "alice")
    answer = client.get("/agent/api/current")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers  # requests do not slide the cookie's life
    with client.session_transaction() as session:
        session["signed_in_at"] -= 11 * 3600 + 3500  # signed in 11 h 58 min ago
    assert client.get("/agent/api/current").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= 200  # now 12 h 1 min ago
    expired = client.get("/agent/api/current")
    assert expired.status_code == 401


def test_changing_the_password_ends_every_other_session(deployment: Deployment) -> None:
    here, elsewhere = deployment.app.test_client(), deployment.app.test_client()
    token = sign_in(here, deployment, "bruno")
    sign_in(elsewhere, deployment, "bruno")
    old = deployment.password("bruno")
    new = "a new and long password"
    form = {"current": old, "new": new, "repeat": new, "csrf_token": token}
    bad = here.post("/password", data={**form, "current": "wrong"})
    assert bad.status_code == 400 and "current password is not right" in bad.text
    short = here.post("/password", data={**form, "new": "short", "repeat": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    changed = here.post("/password", data=form)
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert here.get("/agent/").status_code == 200
    assert elsewhere.get("/agent/").status_code == 302
    fresh = deployment.app.test_client()
    login = csrf_token(fresh.get("/login").text)
    refused = fresh.post(
        "/login", data={"username": "bruno", "password": old, "csrf_token": login}
    )
    assert refused.status_code == 401
    accepted = fresh.post(
        "/login", data={"username": "bruno", "password": new, "csrf_token": login}
    )
    assert accepted.status_code == 302


def _login_cookie(app: Any, deployment: Deployment, **request: Any) -> str:
    """Sign alice in and return the cookie header. Over HTTPS, CSRF protection also wants the
    Referer a browser sends (the console's Referrer-Policy is same-origin)."""
    client = app.test_client()
    token = csrf_token(client.get("/login", **request).text)
    response = client.post(
        "/login",
        data={"username": "alice", "password": deployment.password("alice"), "csrf_token": token},
        **request,
    )
    assert response.status_code == 302
    return response.headers["Set-Cookie"]


def test_cookies_are_secure_over_https(deployment: Deployment) -> None:
    assert "Secure" not in _login_cookie(deployment.app, deployment)
    referer = {"Referer": "https://localhost/login"}
    over_https = {"base_url": "https://localhost", "headers": referer}
    assert "Secure" in _login_cookie(deployment.app, deployment, **over_https)
    public = console_app(deployment.db, PUBLIC_URL="https://console.example.com")
    proxied = console_app(deployment.db, TRUSTED_PROXIES=1)
    forwarded = {"headers": {"X-Forwarded-Proto": "https", **referer}}
    try:
        assert public.config["SESSION_COOKIE_SECURE"] is True
        # (Its cookie is not sent back over plain HTTP, which is the point: look at the first.)
        assert "Secure" in public.test_client().get("/login").headers["Set-Cookie"]
        assert "Secure" in _login_cookie(proxied, deployment, **forwarded)
        # Without a trusted proxy configured, anyone could send that header: it is ignored.
        assert "Secure" not in _login_cookie(deployment.app, deployment, **forwarded)
    finally:
        for app in (public, proxied):
            app.extensions["centralino.db"].dispose()


def test_sign_ins_are_logged_as_structured_lines_without_passwords(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=SECURITY_LOG)
    client = deployment.app.test_client()
    token = csrf_token(client.get("/login").text)
    password = deployment.password("alice")
    attempts = [
        ("alice", "not-her-password"),
        ("nobody", "whatever-it-is"),
        ("eve\nevent=signin.ok user=admin", "x-y-z"),
        ("alice", password),
    ]
    for username, typed in attempts:
        client.post(
            "/login",
            data={"username": username, "password": typed, "csrf_token": token},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == SECURITY_LOG]
    assert lines == [
        "event=signin.failed user=alice source=192.0.2.7 reason=wrong_password",
        "event=signin.failed user=nobody source=192.0.2.7 reason=unknown_user",
        'event=signin.failed user="eve\\nevent=signin.ok user=admin" source=192.0.2.7 '
        "reason=unknown_user",
        "event=signin.ok user=alice source=192.0.2.7 role=agent",
    ]
    for _, typed in attempts:
        assert all(typed not in line for line in lines)
    with deployment.db.session() as session:
        assert session.scalar(select(Agent.session_version).where(Agent.username == "alice")) == 0


def test_an_admin_signs_a_person_out_everywhere(deployment: Deployment) -> None:
    desk = deployment.app.test_client()
    sign_in(desk, deployment, "bruno")
    admin = deployment.app.test_client()
    token = sign_in(admin, deployment, "admin")
    with deployment.db.session() as session:
        bruno = session.scalar(select(Agent.id).where(Agent.username == "bruno"))
    assert f'action="/admin/people/{bruno}/end-sessions"' in admin.get("/admin/").text
    done = admin.post(
        f"/admin/people/{bruno}/end-sessions", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Every session of Bruno Bianchi is signed out." in done.text
    assert desk.get("/agent/").status_code == 302
    assert admin.get("/admin/").status_code == 200  # the admin's own session goes on
    agent = deployment.app.test_client()
    agent_token = sign_in(agent, deployment, "alice")
    forbidden = agent.post(f"/admin/people/{bruno}/end-sessions", data={"csrf_token": agent_token})
    assert forbidden.status_code == 403
