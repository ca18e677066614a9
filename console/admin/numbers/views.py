"""The numbers page: support numbers and their DIDs; add, edit, delete (refused while in use)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.numbers import pages
from console.admin.services import numbers
from console.admin.services.base import AdminError, Invalid
from console.admin.web import actor, service_session


def _page(values: dict[str, Any], errors: dict[str, str], did_values: dict[str, Any],
          did_errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    with service_session() as session:
        return render_template(
            "admin/numbers/list.html", numbers=numbers.listing(session),
            dids=numbers.dids(session), trunks=numbers.trunk_names(session),
            flows=numbers.flow_names(session), values=values, errors=errors,
            did_values=did_values, did_errors=did_errors), status


@pages.get("/")
def index() -> ResponseReturnValue:
    return _page({"locale": "en", "queue": "support"}, {}, {}, {})


@pages.post("/")
def create() -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            made = numbers.create(session, actor(), values).number
    except Invalid as error:
        return _page(values, error.errors, {}, {}, 422)
    flash(f"Support number {made} added; the edge serves it within seconds.")
    return redirect(url_for("admin.numbers.index"))


@pages.get("/<int:number_id>")
def edit(number_id: int) -> ResponseReturnValue:
    with service_session() as session:
        number = numbers.get(session, number_id)
        return render_template("admin/numbers/form.html", number=number,
                               values=numbers.describe(number), errors={},
                               flows=numbers.flow_names(session),
                               users=numbers.users(session, number))


@pages.post("/<int:number_id>")
def update(number_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            numbers.update(session, actor(), number_id, values)
    except Invalid as error:
        with service_session() as session:
            number = numbers.get(session, number_id)
            return render_template("admin/numbers/form.html", number=number, values=values,
                                   errors=error.errors, flows=numbers.flow_names(session),
                                   users=numbers.users(session, number)), 422
    except AdminError as error:
        flash(f"Not saved: {error}.")
        return redirect(url_for("admin.numbers.edit", number_id=number_id))
    flash("Support number saved.")
    return redirect(url_for("admin.numbers.index"))


@pages.post("/<int:number_id>/delete")
def delete(number_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            numbers.delete(session, actor(), number_id)
    except AdminError as error:
        flash(f"Not deleted: {error}.")
    else:
        flash("Support number deleted.")
    return redirect(url_for("admin.numbers.index"))


@pages.post("/dids")
def add_did() -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            made = numbers.add_did(session, actor(), values).number
    except Invalid as error:
        return _page({"locale": "en", "queue": "support"}, {}, values, error.errors, 422)
    flash(f"DID {made} added.")
    return redirect(url_for("admin.numbers.index"))


@pages.post("/dids/<int:did_id>/delete")
def remove_did(did_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            numbers.remove_did(session, actor(), did_id)
    except AdminError as error:
        flash(f"Not removed: {error}.")
    else:
        flash("DID removed.")
    return redirect(url_for("admin.numbers.index"))
