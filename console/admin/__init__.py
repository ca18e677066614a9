"""Administration: workers, people, and runtime settings such as the credit audit threshold."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

from console.admin import views  # noqa: E402,F401  (registers the routes)
