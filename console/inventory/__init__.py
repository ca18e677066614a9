"""Desk phones for administrators: the inventory (model and firmware from the User-Agent,
registration, last provisioning fetch, last seen) and whether each phone's last change is
applied ("confirm, don't hope"), with re-provision and reboot buttons. The device forms of
``console/admin/`` call `store.desk_phones.config_changed` after an edit and link here."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inventory", __name__, url_prefix="/devices", template_folder="templates")

from console.inventory import views  # noqa: E402,F401  (registers the routes)
