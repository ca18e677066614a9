"""Admin area: IVR flows (``pages`` under /admin/flows, ``api`` under /api/admin/flows), over
`console.admin.services.flows`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("flows", __name__, url_prefix="/flows", template_folder="templates")
api = Blueprint("flows", __name__, url_prefix="/flows")

from console.admin.flows import json_api, views  # noqa: E402,F401  (registers the routes)
