"""What the admin pages and the admin API share around the service layer: who acts, the
guards (pages: signed-in admins, else 403; API: a valid admin token, else 401, other roles 403),
and turning a service's refusal into a JSON answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from console.admin.services import tokens
from console.admin.services.base import Actor, AdminError
from console.extensions import database
from console.security_log import client_address, security_event
from store.models import Agent, Role


def actor() -> Actor:
    agent: Agent = g.agent
    return Actor(agent.id, agent.username, client_address(), g.get("admin_via", "page"))


def guard_pages() -> ResponseReturnValue | None:
    """before_request of every admin page."""
    agent: Agent | None = g.get("agent")
    if agent is None:
        return redirect(url_for("auth.login", next=request.full_path))
    if agent.role != Role.ADMIN or agent.disabled_at is not None:
        abort(403)
    return None


def guard_api() -> ResponseReturnValue | None:
    """before_request of every ``/api/admin`` call: a Bearer token of an admin, nothing else
    (no cookies, so no CSRF). A signed-in non-admin's browser gets 403, like a non-admin's
    token; no or a bad token gets 401."""
    signed_in: Agent | None = g.get("agent")
    with database().session() as session:
        holder, why = tokens.holder(session, request.headers.get("Authorization"))
    if holder is None:
        if signed_in is not None and signed_in.role != Role.ADMIN:
            return jsonify(error="your role may not do this"), 403
        security_event("admin_api.refused", "-", reason=why.replace(" ", "_"))
        response = jsonify(error=f"admin API token required ({why})")
        response.headers["WWW-Authenticate"] = 'Bearer realm="centralino-admin"'
        return response, 401
    if not tokens.may_administer(holder):
        return jsonify(error="your role may not do this"), 403
    g.agent = holder
    g.admin_via = "api"
    return None


@contextmanager
def service_session() -> Iterator[Session]:
    with database().session() as session:
        yield session


def api_call(work: Callable[[Session, Actor], Any], status: int = 200) -> ResponseReturnValue:
    """Run *work* in one transaction; its result is the JSON body, a refusal its error."""
    try:
        with service_session() as session:
            result = work(session, actor())
    except AdminError as error:
        return jsonify(error.as_json()), error.status
    return jsonify(result), status


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    return data


def sip_domain() -> str:
    return str(current_app.config["SIP_DOMAIN"])
