"""The sign-in page and sign-out action."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from console.auth import bp
from console.auth.roles import credential_mark, home_for
from console.auth.throttle import LoginThrottle
from console.extensions import database
from store.models import Agent, AgentState
from store.passwords import hash_password, verify_password

_DECOY_HASH = hash_password("no such user")  # same work for unknown names: no user probing


def _throttle() -> LoginThrottle:
    return current_app.extensions["centralino.login_throttle"]


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        if g.get("agent") is not None:
            return redirect(url_for(home_for(g.agent.role)))
        return render_template("auth/login.html", error=None)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    wait = _throttle().retry_after(username, address)
    if wait > 0:
        error = f"Too many wrong passwords. Try again in {int(wait) + 1} seconds."
        response = current_app.make_response(
            (render_template("auth/login.html", error=error, username=username), 429)
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    with database().session() as db_session:
        agent = db_session.scalar(select(Agent).where(Agent.username == username))
    stored = agent.password_hash if agent is not None else _DECOY_HASH
    if not verify_password(password, stored) or agent is None:
        _throttle().failed(username, address)
        return render_template(
            "auth/login.html", error="Wrong user name or password.", username=username
        ), 401
    _throttle().succeeded(username, address)
    session.clear()
    session["agent_id"] = agent.id
    session["credential"] = credential_mark(agent.password_hash)
    session.permanent = True
    return redirect(_safe_next(request.args.get("next")) or url_for(home_for(agent.role)))


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    agent = g.get("agent")
    if agent is not None:
        with database().session() as db_session:
            signed_in = db_session.get(Agent, agent.id)
            if signed_in is not None and signed_in.state not in (
                AgentState.RINGING,
                AgentState.ON_CALL,
            ):
                signed_in.state = AgentState.LOGGED_OUT
                signed_in.state_reason = None
    session.clear()
    return redirect(url_for("auth.login"))
