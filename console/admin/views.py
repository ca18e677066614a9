"""The admin overview (the switch workers' capacity and load, stale heartbeats flagged:
`store.capacity`), the forms that set the credit audit threshold and window, and ending a
person's sessions (a lost laptop, someone who left)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.admin import bp
from console.auth.roles import ADMINISTRATION, requires
from console.auth.sessions import revoke_everywhere
from console.credits import (
    MAX_AUDIT_WINDOW_HOURS,
    WINDOW_KEY,
    CreditRefused,
    audit_window_hours,
    parse_cents,
)
from console.extensions import database
from console.screenpop import audit_threshold_cents
from console.security_log import security_event
from store.capacity import capacity
from store.models import Agent, Setting

THRESHOLD_KEY = "credit_audit_threshold_cents"


@bp.get("/")
@requires(*ADMINISTRATION)
def index() -> ResponseReturnValue:
    with database().session() as session:
        room = capacity(session, float(current_app.config["WORKER_STALE_SECONDS"]))
        agents = session.scalars(select(Agent).order_by(Agent.name)).all()
        threshold = audit_threshold_cents(session)
        window_hours = audit_window_hours(session)
    return render_template(
        "admin/index.html",
        capacity=room,
        agents=agents,
        threshold=f"{threshold / 100:.2f}",
        window_hours=f"{window_hours:g}",
    )


@bp.post("/settings/credit-threshold")
@requires(*ADMINISTRATION)
def credit_threshold() -> ResponseReturnValue:
    try:
        cents = parse_cents(request.form.get("threshold", ""))
    except CreditRefused as error:
        flash(f"Threshold not changed: {error}.")
        return redirect(url_for("admin.index"))
    with database().session() as session:
        setting = session.get(Setting, THRESHOLD_KEY)
        if setting is None:
            session.add(Setting(key=THRESHOLD_KEY, value={"cents": cents}))
        else:
            setting.value = {"cents": cents}
    flash(f"Credits of {cents / 100:.2f} or more are now flagged for review.")
    return redirect(url_for("admin.index"))


@bp.post("/settings/credit-window")
@requires(*ADMINISTRATION)
def credit_window() -> ResponseReturnValue:
    try:
        hours = float(request.form.get("hours", ""))
    except ValueError:
        hours = 0.0
    if not 0 < hours <= MAX_AUDIT_WINDOW_HOURS:  # also refuses NaN
        flash(f"Window not changed: give hours between 0 and {MAX_AUDIT_WINDOW_HOURS:g}.")
        return redirect(url_for("admin.index"))
    with database().session() as session:
        setting = session.get(Setting, WINDOW_KEY)
        if setting is None:
            session.add(Setting(key=WINDOW_KEY, value={"hours": hours}))
        else:
            setting.value = {"hours": hours}
    flash(f"Credits by one agent to one account are now summed over {hours:g} hours.")
    return redirect(url_for("admin.index"))


@bp.post("/people/<int:agent_id>/end-sessions")
@requires(*ADMINISTRATION)
def end_sessions(agent_id: int) -> ResponseReturnValue:
    with database().session() as session:
        person = session.get(Agent, agent_id)
        if person is None:
            flash("No such person.")
            return redirect(url_for("admin.index"))
        revoke_everywhere(session, agent_id)
        name = person.name
        username = person.username
    current_app.extensions["centralino.streams"].close_person(agent_id, "signed_out")
    security_event("sessions.ended", username, by=g.agent.username)
    flash(f"Every session of {name} is signed out.")
    return redirect(url_for("admin.index"))
