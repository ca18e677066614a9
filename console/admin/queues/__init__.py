"""Admin area: queues (``pages`` under /admin/queues, ``api`` under /api/admin/queues), over
`console.admin.services.queues`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("queues", __name__, url_prefix="/queues", template_folder="templates")
api = Blueprint("queues", __name__, url_prefix="/queues")

from console.admin.flows.uploads import limit_uploads  # noqa: E402
from console.admin.queues import json_api, views  # noqa: E402,F401  (registers the routes)

for _area in (pages, api):
    _area.url_value_preprocessor(limit_uploads)  # the music upload's body limit
