"""Who may open what: the signed-in person is loaded per request and every view names its roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, jsonify, redirect, request, session, url_for

from console.auth.sessions import SessionCheck
from console.extensions import database
from console.security_log import security_event
from store.models import Agent, Role

View = TypeVar("View", bound=Callable[..., Any])

AGENT_DESK = (Role.AGENT, Role.SUPERVISOR)  # supervisors take calls too
SUPERVISION = (Role.SUPERVISOR,)
ADMINISTRATION = (Role.ADMIN,)
PHRASE_EDITORS = (Role.SUPERVISOR, Role.ADMIN)  # the watched phrase lists of alerts


def wants_json() -> bool:
    return "/api/" in request.path or request.is_json or request.path.endswith("/events")


def load_signed_in() -> None:
    """Before each request: ``g.agent`` is the signed-in person, or None (a session that was
    signed out, outlived its sign-in or names nobody is cleared and logged)."""
    g.agent = None
    if session.get("agent_id") is None:
        return
    check = SessionCheck.of_current(current_app.config)
    with database().session() as db_session:
        agent = db_session.get(Agent, check.agent_id)
    reason = check.refusal(agent.session_version if agent is not None else None)
    if reason is not None:
        who = agent.username if agent is not None else check.agent_id
        security_event("session.refused", who, reason=reason)
        session.clear()
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

        return cast(View, guarded)  # same signature as the view: functools.wraps

    return decorate


def home_for(role: Role) -> str:
    return {
        Role.AGENT: "agent.desk",
        Role.SUPERVISOR: "supervisor.live",
        Role.ADMIN: "admin.index",
    }[role]
