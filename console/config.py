"""Console configuration: Flask keys derived from the deployment `Settings` or a plain mapping."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from store.settings import Settings
from store.tokens import deployment_token

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "",
    "SECRET_KEY": "",
    "WORKER_FEED": True,  # follow every live worker's /events stream in background threads
    "WORKER_REFRESH_SECONDS": 2.0,  # how often the workers table is re-read
    "WORKER_TIMEOUT_SECONDS": 3.0,  # control API requests to workers
    "WORKER_TOKEN": "",  # the deployment token the workers want (store.tokens)
    "SSE_KEEPALIVE_SECONDS": 15.0,
    "SSE_MAX_SECONDS": 0.0,  # 0: browser streams stay open; tests bound them
    "LOGIN_MAX_FAILURES": 5,  # wrong passwords per user and address ...
    "LOGIN_WINDOW_SECONDS": 300.0,  # ... within this window, before sign-in is refused
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "centralino_session",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),  # one shift
    "SESSION_COOKIE_SECURE": False,  # set True when the console is served over HTTPS
    "IMG_SOURCES": "'self' data:",  # where customer photos may load from (CSP img-src)
    "COMPANY_NAME": "Centralino",
}


def _secret_from(var_dir: Path) -> str:
    """A per-installation secret kept in ``var/console-secret`` (created once, mode 0600)."""
    path = var_dir / "console-secret"
    if path.is_file():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def console_config(source: Settings | Mapping[str, Any] | None) -> dict[str, Any]:
    """Flask config for the console from *source*; mappings use the upper-case keys above."""
    config = dict(DEFAULTS)
    if isinstance(source, Settings):
        config["DATABASE_URL"] = source.database_url
        config["SECRET_KEY"] = source.secret_key or _secret_from(source.var_dir)
        config["COMPANY_NAME"] = source.company_name
        config["WORKER_TOKEN"] = deployment_token(source)
        config.update({k.upper(): v for k, v in source.extra.get("console", {}).items()})
    elif source is not None:
        config.update(source)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = Settings().database_url
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = secrets.token_urlsafe(48)
    return config
