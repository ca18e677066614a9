"""The sign-in page, sign-out, and the page where a person changes their password."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update

from console.auth import bp
from console.auth.roles import home_for
from console.auth.sessions import begin, revoke_everywhere
from console.auth.throttle import LoginThrottle
from console.extensions import database
from console.security_log import client_address, security_event
from store import agents
from store.models import Agent
from store.passwords import ScryptCost, hash_password, needs_rehash, verify_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@lru_cache(maxsize=4)
def _decoy_hash(cost: ScryptCost) -> str:
    """Unknown names cost a hash at the current cost too: no user probing by timing."""
    return hash_password("no such user", cost)


def password_cost() -> ScryptCost:
    cost: ScryptCost = current_app.config["PASSWORD_COST"]
    return cost


def _throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions["centralino.login_throttle"]
    return throttle


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    return target


def _store_stronger_hash(agent: Agent, password: str) -> None:
    """After a good password with an old-cost hash: keep the same password at today's cost."""
    fresh = hash_password(password, password_cost())
    with database().session() as db_session:
        db_session.execute(
            update(Agent)
            .where(Agent.id == agent.id, Agent.password_hash == agent.password_hash)
            .values(password_hash=fresh)
        )
    security_event("password.rehashed", agent.username)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        if g.get("agent") is not None:
            return redirect(url_for(home_for(g.agent.role)))
        return render_template("auth/login.html", error=None)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = client_address()
    wait = _throttle().retry_after(username, address)
    if wait > 0:
        security_event("signin.failed", username, reason="throttled")
        error = f"Too many wrong passwords. Try again in {int(wait) + 1} seconds."
        response = current_app.make_response(
            (render_template("auth/login.html", error=error, username=username), 429)
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    with database().session() as db_session:
        agent = db_session.scalar(select(Agent).where(Agent.username == username))
    stored = agent.password_hash if agent is not None else _decoy_hash(password_cost())
    if not verify_password(password, stored) or agent is None or agent.disabled_at is not None:
        _throttle().failed(username, address)
        reason = "unknown_user" if agent is None else "wrong_password"
        if agent is not None and agent.disabled_at is not None:
            reason = "disabled"
        security_event("signin.failed", username, reason=reason)
        return render_template(
            "auth/login.html", error="Wrong user name or password.", username=username
        ), 401
    if needs_rehash(agent.password_hash, password_cost()):
        _store_stronger_hash(agent, password)
    _throttle().succeeded(username, address)
    begin(agent)
    security_event("signin.ok", agent.username, role=agent.role.value)
    return redirect(_safe_next(request.args.get("next")) or url_for(home_for(agent.role)))


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out everywhere: the person's session version moves on, so this cookie (and any
    copy of it, on any console process) is refused from now on."""
    agent = g.get("agent")
    if agent is not None:
        agents.log_out(database(), agent.id)  # not while a call rings or runs
        with database().session() as db_session:
            revoke_everywhere(db_session, agent.id)
        current_app.extensions["centralino.streams"].close_person(agent.id, "signed_out")
        security_event("signout", agent.username)
    session.clear()
    return redirect(url_for("auth.login"))


def _new_password_problem(current: str, new: str, repeated: str) -> str | None:
    if len(new) < MIN_PASSWORD_LENGTH:
        return f"Choose a new password of at least {MIN_PASSWORD_LENGTH} characters."
    if len(new) > MAX_PASSWORD_LENGTH:
        return f"Choose a new password of at most {MAX_PASSWORD_LENGTH} characters."
    if new != repeated:
        return "The two new passwords differ."
    if new == current:
        return "The new password is the one you have."
    return None


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    agent: Agent | None = g.get("agent")
    if agent is None:
        return redirect(url_for("auth.login", next=request.full_path))
    if request.method == "GET":
        return render_template("auth/password.html", error=None, done=False)
    address = client_address()
    if _throttle().retry_after(agent.username, address) > 0:
        return render_template(
            "auth/password.html", error="Too many wrong passwords; try later.", done=False
        ), 429
    current = request.form.get("current", "")
    if not verify_password(current, agent.password_hash):
        _throttle().failed(agent.username, address)
        security_event("password.change_failed", agent.username, reason="wrong_password")
        error = "Your current password is not right."
        return render_template("auth/password.html", error=error, done=False), 400
    problem = _new_password_problem(
        current, request.form.get("new", ""), request.form.get("repeat", "")
    )
    if problem is not None:
        return render_template("auth/password.html", error=problem, done=False), 400
    fresh = hash_password(request.form["new"], password_cost())
    with database().session() as db_session:
        db_session.execute(update(Agent).where(Agent.id == agent.id).values(password_hash=fresh))
        revoke_everywhere(db_session, agent.id)
        changed = db_session.get(Agent, agent.id)
    assert changed is not None  # the signed-in person's row
    current_app.extensions["centralino.streams"].close_person(agent.id, "signed_out")
    begin(changed)  # this browser goes on; every other session of this person ends
    security_event("password.changed", agent.username)
    return render_template("auth/password.html", error=None, done=True)
