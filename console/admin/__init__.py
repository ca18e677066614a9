"""Administration: the overview (workers, credit audit settings) and one sub-blueprint per
area (people, devices, trunks, numbers and DIDs, queues, IVR flows, API tokens, audit log),
each over its module in `console.admin.services`.
``bp`` serves the pages under /admin (signed-in admins only); ``api_bp`` serves the same
operations as JSON under /api/admin (admin API tokens only, see docs/admin-api.md)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template_string
from flask.typing import ResponseReturnValue

from console.admin.services.base import AdminError

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
api_bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")

from console.admin import (  # noqa: E402, F401
    audit,
    devices,
    flows,
    numbers,
    people,
    queues,
    tokens,
    trunks,
    views,
)
from console.admin.web import guard_api, guard_pages  # noqa: E402

bp.before_request(guard_pages)
api_bp.before_request(guard_api)
for area in (people, devices, trunks, numbers, queues, flows, tokens, audit):
    bp.register_blueprint(area.pages)
    if hasattr(area, "api"):
        api_bp.register_blueprint(area.api)

_REFUSED = (
    "{% extends 'admin/layout.html' %}{% block title %}{{ code }}{% endblock %}"
    "{% block admin %}<p class='card error'>{{ message }}</p>{% endblock %}"
)


@bp.errorhandler(AdminError)
def _page_refusal(error: AdminError) -> ResponseReturnValue:
    return render_template_string(_REFUSED, code=error.status, message=str(error)), error.status


@api_bp.errorhandler(AdminError)
def _api_refusal(error: AdminError) -> ResponseReturnValue:
    return jsonify(error.as_json()), error.status
