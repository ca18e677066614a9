"""Admin area: people (agents, supervisors, admins). ``pages`` under /admin/people, ``api``
under /api/admin/people, both over `console.admin.services.people`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("people", __name__, url_prefix="/people", template_folder="templates")
api = Blueprint("people", __name__, url_prefix="/people")

from console.admin.people import json_api, views  # noqa: E402,F401  (registers the routes)
