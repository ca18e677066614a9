"""Admin area: devices. ``pages`` (under /admin/devices) and ``api`` (under /api/admin/devices)
both call `console.admin.services.devices`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("devices", __name__, url_prefix="/devices", template_folder="templates")
api = Blueprint("devices", __name__, url_prefix="/devices")

from console.admin.devices import json_api, views  # noqa: E402,F401  (registers the routes)
