"""The one-time password link: a new person (or one an admin reset) sets their own password
once; the link then stops working (`console.admin.services.people` makes and redeems it)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.services import people
from console.auth import bp
from console.auth.views import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from console.extensions import database
from console.security_log import security_event

_GONE = "This link was used already or has expired; ask your admin for a new one."


@bp.route("/welcome/<secret>", methods=["GET", "POST"])
def welcome(secret: str) -> ResponseReturnValue:
    with database().session() as session:
        usable = people.link_for(session, secret[:100]) is not None
    if not usable:
        return render_template("auth/welcome.html", error=_GONE, usable=False), 410
    if request.method == "GET":
        return render_template("auth/welcome.html", error=None, usable=True)
    new, repeated = request.form.get("new", ""), request.form.get("repeat", "")
    problem = None
    if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        problem = f"Choose a password of {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
    elif new != repeated:
        problem = "The two passwords differ."
    if problem:
        return render_template("auth/welcome.html", error=problem, usable=True), 400
    with database().session() as session:
        agent = people.redeem_link(session, secret[:100], new, current_app.config["PASSWORD_COST"])
        username = agent.username if agent is not None else None
    if username is None:
        return render_template("auth/welcome.html", error=_GONE, usable=False), 410
    security_event("password.set_by_link", username)
    return redirect(url_for("auth.login"))
