"""Who may open what: the signed-in person is loaded per request and every view names its roles."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, jsonify, redirect, request, session, url_for

from console.extensions import database
from store.models import Agent, Role

View = TypeVar("View", bound=Callable[..., Any])

AGENT_DESK = (Role.AGENT, Role.SUPERVISOR)  # supervisors take calls too
SUPERVISION = (Role.SUPERVISOR,)
ADMINISTRATION = (Role.ADMIN,)


def wants_json() -> bool:
    return "/api/" in request.path or request.is_json or request.path.endswith("/events")


def credential_mark(password_hash: str) -> str:
    """A short digest of the stored hash: changing the password ends every other session."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def load_signed_in() -> None:
    """Before each request: ``g.agent`` is the signed-in person, or None."""
    g.agent = None
    agent_id = session.get("agent_id")
    if agent_id is None:
        return
    with database().session() as db_session:
        agent = db_session.get(Agent, agent_id)
    if agent is None or session.get("credential") != credential_mark(agent.password_hash):
        session.clear()  # deleted, or the password changed: sign in again
        return
    g.agent = agent


def requires(*roles: Role) -> Callable[[View], View]:
    """Allow the view only to signed-in people whose role is in *roles*."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            agent: Agent | None = g.get("agent")
            if agent is None:
                if wants_json():
                    return jsonify(error="sign in first"), 401
                return redirect(url_for("auth.login", next=request.full_path))
            if agent.role not in roles:
                if wants_json():
                    return jsonify(error="your role may not do this"), 403
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def home_for(role: Role) -> str:
    return {
        Role.AGENT: "agent.desk",
        Role.SUPERVISOR: "supervisor.live",
        Role.ADMIN: "admin.index",
    }[role]
