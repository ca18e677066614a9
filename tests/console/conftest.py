"""Console fixtures: a migrated, seeded SQLite database, the app served threaded on port 0,
a fake switch worker's event source, and headless Debian Chromium kept on loopback."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from werkzeug.serving import make_server

from console.app import create_app
from console.testing.browser import CHROMIUM, CHROMIUM_ARGS
from console.testing.fake_worker import TOKEN, FakeWorker
from store.db import Database
from store.demo import DemoCredentials, seed_demo
from store.migrate import upgrade
from store.models import Agent
from store.passwords import ScryptCost, hash_password
from tests.harness.parts import require

#: The console's scrypt cost in tests, and the demo people's hashes. What a test proves about
#: sessions, roles and pages does not depend on the cost; `test_passwords` proves the OWASP cost
#: and the rehash to it with the real parameters.
TEST_PASSWORD_COST = ScryptCost(2**10, 8, 1)


@dataclass
class Deployment:
    db: Database
    credentials: DemoCredentials
    app: Flask

    def password(self, username: str) -> str:
        return self.credentials.console[username]


def seeded_database(path: Path) -> tuple[Database, DemoCredentials]:
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        credentials = seed_demo(session, "centralino.test")
    assert credentials is not None
    with db.session() as session:
        for username, password in credentials.console.items():
            session.execute(
                update(Agent)
                .where(Agent.username == username)
                .values(password_hash=hash_password(password, TEST_PASSWORD_COST))
            )
    return db, credentials


def console_app(db: Database, **overrides: Any) -> Flask:
    config = {
        "DATABASE_URL": db.url,
        "SECRET_KEY": "test-secret",
        "WORKER_FEED": False,
        "WORKER_REFRESH_SECONDS": 0.2,
        "SSE_KEEPALIVE_SECONDS": 2.0,
        "SSE_MAX_SECONDS": 30.0,
        "PASSWORD_COST": TEST_PASSWORD_COST,
        "WORKER_TOKEN": TOKEN,
        **overrides,
    }
    return create_app(config)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoCredentials]:
    """Migrate and seed once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "seeded.sqlite"
    db, credentials = seeded_database(path)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path, credentials


def copy_of(template: tuple[Path, DemoCredentials], path: Path) -> tuple[Database, DemoCredentials]:
    shutil.copyfile(template[0], path)
    return Database(f"sqlite:///{path}"), template[1]


@pytest.fixture
def deployment(
    tmp_path: Path, seeded_template: tuple[Path, DemoCredentials]
) -> Iterator[Deployment]:
    db, credentials = copy_of(seeded_template, tmp_path / "console.sqlite")
    app = console_app(db)
    yield Deployment(db, credentials, app)
    app.extensions["centralino.worker_feed"].stop()
    app.extensions["centralino.db"].dispose()
    db.dispose()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf(?:-token|_token)" (?:content|value)="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: Any, deployment: Deployment, username: str) -> str:
    """Sign *username* in through the form; returns the CSRF token for JSON calls."""
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": deployment.password(username), "csrf_token": token},
    )
    assert response.status_code == 302, response.text
    return csrf_token(client.get(response.location).text)  # signing in starts a new session


@dataclass
class LiveConsole:
    deployment: Deployment
    worker: FakeWorker
    url: str


def serve_threaded(app: Flask) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live_console(
    tmp_path: Path, seeded_template: tuple[Path, DemoCredentials]
) -> Iterator[LiveConsole]:
    db, credentials = copy_of(seeded_template, tmp_path / "live.sqlite")
    worker = FakeWorker().start()
    worker.register(db)
    app = console_app(db, WORKER_FEED=True)
    server, url = serve_threaded(app)
    assert worker.connected.wait(10), "the console never subscribed to the worker's events"
    yield LiveConsole(Deployment(db, credentials, app), worker, url)
    app.extensions["centralino.worker_feed"].stop()
    worker.stop()
    server.shutdown()
    server.server_close()
    app.extensions["centralino.db"].dispose()
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # CSP off for the harness's own polling: the pages must stay inert by escaping alone.
    context = browser.new_context(bypass_csp=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
