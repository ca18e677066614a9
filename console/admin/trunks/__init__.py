"""Admin area: trunks (``pages`` under /admin/trunks, ``api`` under /api/admin/trunks), over
`console.admin.services.trunks`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("trunks", __name__, url_prefix="/trunks", template_folder="templates")
api = Blueprint("trunks", __name__, url_prefix="/trunks")

from console.admin.trunks import json_api, views  # noqa: E402,F401  (registers the routes)
