"""Supervision: live calls across every worker and credits flagged for review."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor", template_folder="templates")

from console.supervisor import settings_views, views  # noqa: E402,F401  (registers the routes)
