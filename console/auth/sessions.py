"""Console sessions: begun at sign-in, checked on every request, revoked on every device.

The signed session cookie carries the person's id, their session version
(``agents.session_version``), the sign-in time and a random session id. It is refused once the
version no longer matches (signed out or password changed, in any console process) or once the
sign-in is older than ``PERMANENT_SESSION_LIFETIME``: an absolute lifetime that requests do not
extend. The cookie is ``Secure`` when configured so or when the request came over HTTPS.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.db import Database
from store.models import Agent

_CLOCK_SKEW_SECONDS = 300


def lifetime_seconds(config: Mapping[str, Any]) -> float:
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    return lifetime.total_seconds() if isinstance(lifetime, timedelta) else float(lifetime)


@dataclass(frozen=True)
class SessionCheck:
    """What a request's session claims, and how long a sign-in lasts."""

    agent_id: int
    version: int
    signed_in_at: float
    lifetime_seconds: float

    @classmethod
    def of_current(cls, config: Mapping[str, Any]) -> SessionCheck:
        def number(key: str) -> float:
            value = session.get(key)
            return float(value) if isinstance(value, int | float) else -1.0

        return cls(
            int(number("agent_id")),
            int(number("ver")),
            number("signed_in_at"),
            lifetime_seconds(config),
        )

    def refusal(self, current_version: int | None) -> str | None:
        """Why this session may not go on (``revoked``, ``expired``, ``unknown``), or None."""
        if current_version is None:
            return "unknown"
        if self.version != current_version:
            return "revoked"
        age = time.time() - self.signed_in_at
        if self.signed_in_at <= 0 or age > self.lifetime_seconds or age < -_CLOCK_SKEW_SECONDS:
            return "expired"
        return None


def begin(agent: Agent) -> None:
    """A fresh session for *agent* (no data from before sign-in survives)."""
    session.clear()
    session["agent_id"] = agent.id
    session["ver"] = agent.session_version
    session["signed_in_at"] = int(time.time())
    session["sid"] = secrets.token_urlsafe(12)
    session.permanent = True


def revoke_everywhere(db_session: Session, agent_id: int) -> int:
    """Bump the person's session version: every session signed before is refused from now on.

    Returns the new version.
    """
    db_session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(session_version=Agent.session_version + 1)
    )
    return int(db_session.scalar(select(Agent.session_version).where(Agent.id == agent_id)) or 0)


def still_valid(db: Database, check: SessionCheck) -> bool:
    """Checked again by long-lived responses (event streams), outside any request."""
    with db.session() as db_session:
        version = db_session.scalar(
            select(Agent.session_version).where(Agent.id == check.agent_id)
        )
    return check.refusal(version) is None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` also whenever the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)
