"""The trunks page: every trunk with its live registration state (registered, failed with the
carrier's answer, next attempt), add, edit (the secret is never shown), registration on/off,
delete (refused while DIDs arrive on it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.services import trunks
from console.admin.services.base import AdminError, Invalid
from console.admin.trunks import pages
from console.admin.web import actor, service_session

_NEW = {"transport": "udp", "expires": 300, "registration": True, "priority": 10}


def _states() -> dict[str, Any] | None:
    return trunks.states(current_app.config["VAR_DIR"])


def _page(values: dict[str, Any], errors: dict[str, str], status: int = 200
          ) -> ResponseReturnValue:
    with service_session() as session:
        return render_template("admin/trunks/list.html", trunks=trunks.listing(session),
                               states=_states(), values=values, errors=errors,
                               transports=trunks.TRANSPORTS, when=_when), status


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return datetime.fromtimestamp(stamp, UTC).strftime("%H:%M:%S UTC")


@pages.get("/")
def index() -> ResponseReturnValue:
    return _page(dict(_NEW), {})


@pages.get("/states")
def states() -> ResponseReturnValue:
    """The state cells alone, for the page to refresh itself."""
    with service_session() as session:
        return render_template("admin/trunks/states.html", trunks=trunks.listing(session),
                               states=_states(), when=_when)


@pages.post("/")
def create() -> ResponseReturnValue:
    values = request.form.to_dict()
    values.setdefault("registration", "")
    try:
        with service_session() as session:
            name = trunks.create(session, actor(), values).name
    except Invalid as error:
        values.pop("secret", None)
        return _page(values, error.errors, 422)
    flash(f"Trunk {name} added; the edge registers it within seconds.")
    return redirect(url_for("admin.trunks.index"))


def _form(trunk_id: int, values: dict[str, Any] | None, errors: dict[str, str],
          status: int = 200) -> ResponseReturnValue:
    with service_session() as session:
        trunk = trunks.get(session, trunk_id)
        shown = values if values is not None else trunks.describe(trunk)
        return render_template("admin/trunks/form.html", trunk=trunk, values=shown,
                               errors=errors, transports=trunks.TRANSPORTS,
                               state=(_states() or {}).get(trunk.name), when=_when), status


@pages.get("/<int:trunk_id>")
def edit(trunk_id: int) -> ResponseReturnValue:
    return _form(trunk_id, None, {})


@pages.post("/<int:trunk_id>")
def update(trunk_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    values.setdefault("registration", "")
    try:
        with service_session() as session:
            trunks.update(session, actor(), trunk_id, values)
    except Invalid as error:
        values.pop("secret", None)
        return _form(trunk_id, values, error.errors, 422)
    except AdminError as error:
        flash(f"Not saved: {error}.")
        return redirect(url_for("admin.trunks.edit", trunk_id=trunk_id))
    flash("Trunk saved; the edge reloads its registration within seconds (calls stay up).")
    return redirect(url_for("admin.trunks.index"))


@pages.post("/<int:trunk_id>/registration")
def registration(trunk_id: int) -> ResponseReturnValue:
    on = request.form.get("on") == "1"
    with service_session() as session:
        name = trunks.set_registration(session, actor(), trunk_id, on).name
    flash(f"Trunk {name}: registration {'on' if on else 'off'}.")
    return redirect(url_for("admin.trunks.index"))


@pages.post("/<int:trunk_id>/delete")
def delete(trunk_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            trunks.delete(session, actor(), trunk_id)
    except AdminError as error:
        flash(f"Not deleted: {error}.")
    else:
        flash("Trunk deleted.")
    return redirect(url_for("admin.trunks.index"))
