"""Admin area: IVR flows (``pages`` under /admin/flows, ``api`` under /api/admin/flows), over
`console.admin.services.flows`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("flows", __name__, url_prefix="/flows", template_folder="templates")
api = Blueprint("flows", __name__, url_prefix="/flows")

from console.admin.flows import json_api, views  # noqa: E402,F401  (registers the routes)
from console.admin.flows.uploads import limit_uploads  # noqa: E402

for _area in (pages, api):
    _area.url_value_preprocessor(limit_uploads)  # before any before_request reads the body
