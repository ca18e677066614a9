"""The admin overview and the form that sets the credit audit threshold."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from console.admin import bp
from console.auth.roles import ADMINISTRATION, requires
from console.credits import CreditRefused, parse_cents
from console.extensions import database
from console.screenpop import audit_threshold_cents
from store.models import Agent, Setting, Worker

THRESHOLD_KEY = "credit_audit_threshold_cents"


@bp.get("/")
@requires(*ADMINISTRATION)
def index():  # type: ignore[no-untyped-def]
    with database().session() as session:
        workers = session.scalars(select(Worker).order_by(Worker.name)).all()
        agents = session.scalars(select(Agent).order_by(Agent.name)).all()
        threshold = audit_threshold_cents(session)
    return render_template(
        "admin/index.html", workers=workers, agents=agents, threshold=f"{threshold / 100:.2f}"
    )


@bp.post("/settings/credit-threshold")
@requires(*ADMINISTRATION)
def credit_threshold():  # type: ignore[no-untyped-def]
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
