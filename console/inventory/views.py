"""``/devices/phones``: the desk-phone inventory and "applied"; re-provision and reboot.
``/devices/headsets``: what each agent's headset last reported (hook, call, mute, levels)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from console.auth.roles import ADMINISTRATION, SUPERVISION, requires
from console.extensions import database
from console.inventory import bp
from console.inventory.headsets import CONNECTED_SECONDS, headset_views
from console.inventory.phones import phone_rows
from store.desk_phones import DeskPhoneError, config_changed, queue_command
from store.models import DeviceProvisioning


@bp.get("/phones")
@requires(*ADMINISTRATION)
def phones() -> ResponseReturnValue:
    seconds = float(current_app.config["PROVISIONING_CONFIRM_SECONDS"])
    with database().session() as session:
        rows = phone_rows(session, seconds)
    return render_template("inventory/phones.html", rows=rows, confirm_seconds=seconds)


@bp.post("/phones/<int:device_id>/resync")
@requires(*ADMINISTRATION)
def resync(device_id: int) -> ResponseReturnValue:
    try:
        version = config_changed(database(), device_id)
    except DeskPhoneError as error:
        flash(f"Not re-provisioned: {error}.")
    else:
        flash(f"Version {version} queued; the page says \"applied\" once the phone fetched it.")
    return redirect(url_for("inventory.phones"))


@bp.post("/phones/<int:device_id>/reboot")
@requires(*ADMINISTRATION)
def reboot(device_id: int) -> ResponseReturnValue:
    with database().session() as session:
        if session.get(DeviceProvisioning, device_id) is None:
            flash("Not rebooted: no such desk phone.")
        else:
            queue_command(session, device_id, "reboot")
            flash("Reboot queued (sent when the phone is not on a call).")
    return redirect(url_for("inventory.phones"))


@bp.get("/headsets")
@requires(*SUPERVISION, *ADMINISTRATION)
def headsets() -> ResponseReturnValue:
    with database().session() as session:
        views = headset_views(session)
    return render_template("inventory/headsets.html", headsets=views,
                           connected_seconds=CONNECTED_SECONDS)
