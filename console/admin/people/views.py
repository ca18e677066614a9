"""The people pages: list, add (password generated once or a one-time link), edit, disable,
enable, reset the password."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.admin.people import pages
from console.admin.services import people
from console.admin.services.base import AdminError, Invalid
from console.admin.web import actor, service_session
from store.models import Device, Role

ROLES = [role.value for role in Role]


def _cost() -> Any:
    return current_app.config["PASSWORD_COST"]


@pages.get("/")
def index() -> ResponseReturnValue:
    with service_session() as session:
        return render_template("admin/people/list.html", people=people.listing(session))


def _form(person: Any, values: dict[str, Any], errors: dict[str, str], status: int = 200
          ) -> ResponseReturnValue:
    with service_session() as session:
        extensions = list(session.scalars(
            select(Device.extension).where(Device.disabled_at.is_(None)).order_by(Device.extension)))
    return render_template("admin/people/form.html", person=person, values=values,
                           errors=errors, roles=ROLES, extensions=extensions), status


@pages.get("/new")
def new() -> ResponseReturnValue:
    return _form(None, {"role": "agent", "credit_limit": "50.00"}, {})


def _welcome_page(welcome: people.Welcome) -> ResponseReturnValue:
    link = (url_for("auth.welcome", secret=welcome.link_secret, _external=True)
            if welcome.link_secret else None)
    response = make_response(render_template("admin/people/welcome.html", welcome=welcome,
                                             link=link))
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.post("/")
def create() -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            welcome = people.create(session, actor(), values, _cost())
    except Invalid as error:
        return _form(None, values, error.errors, 422)
    return _welcome_page(welcome)


@pages.get("/<int:agent_id>")
def edit(agent_id: int) -> ResponseReturnValue:
    with service_session() as session:
        person = people.get(session, agent_id)
        values = people.describe(person)
        values["skills"] = ", ".join(values["skills"])
        values["credit_limit"] = f"{person.credit_limit_cents / 100:.2f}"
        return _form(person, values, {})


@pages.post("/<int:agent_id>")
def update(agent_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            person = people.update(session, actor(), agent_id, values)
            name = person.name
    except Invalid as error:
        with service_session() as session:
            return _form(people.get(session, agent_id), values, error.errors, 422)
    flash(f"{name} saved.")
    return redirect(url_for("admin.people.index"))


def _close_streams(agent_id: int) -> None:
    current_app.extensions["centralino.streams"].close_person(agent_id, "signed_out")


@pages.post("/<int:agent_id>/disable")
def disable(agent_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            name = people.disable(session, actor(), agent_id).name
    except AdminError as error:
        flash(f"Not disabled: {error}.")
        return redirect(url_for("admin.people.edit", agent_id=agent_id))
    _close_streams(agent_id)
    flash(f"{name} is disabled and signed out; their history keeps the name.")
    return redirect(url_for("admin.people.index"))


@pages.post("/<int:agent_id>/enable")
def enable(agent_id: int) -> ResponseReturnValue:
    with service_session() as session:
        name = people.enable(session, actor(), agent_id).name
    flash(f"{name} may sign in again.")
    return redirect(url_for("admin.people.index"))


@pages.post("/<int:agent_id>/password")
def password(agent_id: int) -> ResponseReturnValue:
    how = request.form.get("how", "generate")
    with service_session() as session:
        welcome = people.reset_password(session, actor(), agent_id, how, _cost())
    _close_streams(agent_id)
    return _welcome_page(welcome)
