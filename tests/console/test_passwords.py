"""Sign-in upgrades an old password hash to OWASP's scrypt cost, with the real parameters."""

from __future__ import annotations

from sqlalchemy import select

from store.models import Agent
from store.passwords import OWASP_SCRYPT, verify_password
from tests.console.conftest import Deployment, console_app, csrf_token
from tests.store.test_passwords import legacy_hash

PASSWORD = "an old but long password"


def sign_in_as_ada(app, password: str = PASSWORD) -> int:  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    data = {"username": "ada", "password": password, "csrf_token": token}
    return client.post("/login", data=data).status_code


def stored_hash(deployment: Deployment) -> str:
    with deployment.db.session() as session:
        return session.scalar(select(Agent.password_hash).where(Agent.username == "ada"))


def test_sign_in_rehashes_an_old_hash_at_owasp_cost(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        session.add(Agent(name="Ada", username="ada", password_hash=legacy_hash(PASSWORD)))
    app = console_app(deployment.db, PASSWORD_COST=OWASP_SCRYPT)  # the production default
    try:
        assert sign_in_as_ada(app, "wrong password") == 401
        assert stored_hash(deployment) == legacy_hash(PASSWORD)  # nothing without the password
        assert sign_in_as_ada(app) == 302
        upgraded = stored_hash(deployment)
        assert upgraded.startswith("scrypt$131072$8$1$")
        assert verify_password(PASSWORD, upgraded)
        assert sign_in_as_ada(app) == 302
        assert stored_hash(deployment) == upgraded  # done once
    finally:
        app.extensions["centralino.db"].dispose()
    with deployment.db.session() as session:
        assert session.scalar(select(Agent.session_version).where(Agent.username == "ada")) == 0
