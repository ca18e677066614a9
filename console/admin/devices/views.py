"""The devices pages: the list with registration state, add (credentials shown once), edit,
disable/enable, new credentials."""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.devices import pages
from console.admin.devices.reprovision import reprovision
from console.admin.services import devices
from console.admin.services.base import AdminError, Invalid
from console.admin.web import actor, service_session, sip_domain


@pages.get("/")
def index() -> ResponseReturnValue:
    with service_session() as session:
        rows = devices.listing(session)
        return render_template("admin/devices/list.html", rows=rows)


def _form(device: Any, values: dict[str, Any], errors: dict[str, str], status: int = 200
          ) -> ResponseReturnValue:
    return render_template("admin/devices/form.html", device=device, values=values,
                           errors=errors, kinds=devices.kinds()), status


@pages.get("/new")
def new() -> ResponseReturnValue:
    return _form(None, {"kind": "softphone"}, {})


def _credentials_page(credentials: devices.Credentials, fresh: bool) -> ResponseReturnValue:
    response = make_response(render_template("admin/devices/credentials.html",
                                             credentials=credentials, fresh=fresh))
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.post("/")
def create() -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            credentials = devices.create(session, actor(), values, sip_domain())
    except Invalid as error:
        return _form(None, values, error.errors, 422)
    return _credentials_page(credentials, fresh=True)


@pages.get("/<int:device_id>")
def edit(device_id: int) -> ResponseReturnValue:
    with service_session() as session:
        device = devices.get(session, device_id)
        values = devices.describe(device)
        values["users"] = devices.users_of(session, device_id)
        return _form(device, values, {})


@pages.post("/<int:device_id>")
def update(device_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    values.setdefault("auto_answer", "")
    try:
        with service_session() as session:
            device = devices.update(session, actor(), device_id, values)
            extension = device.extension
    except Invalid as error:
        with service_session() as session:
            return _form(devices.get(session, device_id), values, error.errors, 422)
    reprovision(device_id)
    flash(f"Device {extension} saved.")
    return redirect(url_for("admin.devices.index"))


@pages.post("/<int:device_id>/disable")
def disable(device_id: int) -> ResponseReturnValue:
    with service_session() as session:
        device = devices.disable(session, actor(), device_id)
        flash(f"Device {device.extension} is disabled and unregistered.")
    return redirect(url_for("admin.devices.index"))


@pages.post("/<int:device_id>/enable")
def enable(device_id: int) -> ResponseReturnValue:
    with service_session() as session:
        device = devices.enable(session, actor(), device_id)
        flash(f"Device {device.extension} is enabled; it may register again.")
    return redirect(url_for("admin.devices.index"))


@pages.post("/<int:device_id>/credentials")
def credentials(device_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            fresh = devices.new_credentials(session, actor(), device_id, sip_domain())
    except AdminError as error:
        flash(str(error))
        return redirect(url_for("admin.devices.index"))
    reprovision(device_id)  # a desk phone's file carries its SIP password
    return _credentials_page(fresh, fresh=False)
