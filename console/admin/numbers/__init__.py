"""Admin area: support numbers and DIDs (``pages`` under /admin/numbers, ``api`` under
/api/admin/numbers), over `console.admin.services.numbers`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("numbers", __name__, url_prefix="/numbers", template_folder="templates")
api = Blueprint("numbers", __name__, url_prefix="/numbers")

from console.admin.numbers import json_api, views  # noqa: E402,F401  (registers the routes)
