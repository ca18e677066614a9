"""Console configuration: Flask keys derived from the deployment `Settings` or a plain mapping."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from store.passwords import OWASP_SCRYPT, ScryptCost
from store.settings import Settings
from store.tokens import deployment_token

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "",
    "SECRET_KEY": "",
    "WORKER_FEED": True,  # follow every live worker's /events stream in background threads
    "WORKER_REFRESH_SECONDS": 2.0,  # how often the workers table is re-read
    "WORKER_TIMEOUT_SECONDS": 3.0,  # control API requests to workers
    # a worker whose heartbeat is older is flagged stale on the admin home (Settings'
    # stale_after_seconds)
    "WORKER_STALE_SECONDS": Settings().stale_after_seconds,
    "WORKER_TOKEN": "",  # the deployment token the workers want (store.tokens)
    # Browser streams (see console.streams); each open one holds a server thread.
    "SSE_KEEPALIVE_SECONDS": 15.0,  # also how often a stream re-checks its session
    "SSE_MAX_SECONDS": 300.0,  # a stream's lifetime; the browser then reconnects
    "SSE_RETRY_MS": 3000,  # the reconnection delay the browser is told (plus up to 50 %)
    "SSE_STREAMS_PER_SESSION": 4,  # a newer stream closes the session's oldest
    "SSE_MAX_STREAMS": 256,  # per console process; beyond, 503 with Retry-After
    "SSE_FULL_RETRY_SECONDS": 15,
    "FLOOR_POLL_SECONDS": 0.5,  # how often a floor stream re-reads the database
    "REQUEST_THREADS": 16,  # server threads for pages and APIs, besides the streams'
    "CHANNEL_TIMEOUT_SECONDS": 120,  # idle HTTP connections are closed after this
    "LOGIN_MAX_FAILURES": 5,  # wrong passwords per user and address ...
    "LOGIN_WINDOW_SECONDS": 300.0,  # ... within this window, before sign-in is refused
    "PASSWORD_COST": OWASP_SCRYPT,  # scrypt {n, r, p} for new hashes; weaker ones are redone
    # Customer profiles outside one's own calls: a logged search, valid this long, at most
    # so many per person and hour.
    "PROFILE_SEARCH_MINUTES": 30,
    "PROFILE_SEARCHES_PER_HOUR": 60,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "centralino_session",
    "SESSION_REFRESH_EACH_REQUEST": False,  # the cookie's expiry does not slide
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),  # absolute, from sign-in: one shift
    "PUBLIC_URL": "",  # how browsers reach the console; https:// makes cookies Secure
    "SESSION_COOKIE_SECURE": None,  # None: Secure when PUBLIC_URL is https (or the request is)
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers are believed
    "IMG_SOURCES": "'self' data:",  # where customer photos may load from (CSP img-src)
    "COMPANY_NAME": "Centralino",
    # Desk phones (console/provisioning, console/inventory): where they register, the var/
    # directory holding the provisioning key, the URL phones fetch from ("" = this console's
    # /provisioning/), how long a phone has to fetch its new file after a check-sync.
    # SIP_DOMAIN is also the digest realm new device credentials are made for (console/admin).
    "VAR_DIR": "var",
    "SIP_SERVER": "127.0.0.1",
    "SIP_PORT": 5060,
    "SIP_DOMAIN": "centralino.local",
    "PROVISIONING_URL": "",
    "PROVISIONING_CONFIRM_SECONDS": 60.0,
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
        config["SIP_DOMAIN"] = source.sip_domain
        config["WORKER_TOKEN"] = deployment_token(source)
        config["VAR_DIR"] = str(source.var_dir)
        config["SIP_SERVER"] = source.sip_address
        config["SIP_PORT"] = source.sip_port
        config["SIP_DOMAIN"] = source.sip_domain
        config["WORKER_STALE_SECONDS"] = source.stale_after_seconds
        config.update({k.upper(): v for k, v in source.extra.get("console", {}).items()})
    elif source is not None:
        config.update(source)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = Settings().database_url
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = secrets.token_urlsafe(48)
    return _derived(config)


def _derived(config: dict[str, Any]) -> dict[str, Any]:
    """Settings that follow from others, and values from TOML in their Python types."""
    https = str(config["PUBLIC_URL"]).lower().startswith("https://")
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = https
    if https:
        config["PREFERRED_URL_SCHEME"] = "https"
    config["PASSWORD_COST"] = ScryptCost.parse(config["PASSWORD_COST"])
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, timedelta):
        config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=float(lifetime))
    return config
