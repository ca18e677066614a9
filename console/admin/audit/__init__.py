"""Admin area: the audit log, read-only (``pages`` under /admin/audit, ``api`` under
/api/admin/audit), over `console.admin.services.audit`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")
api = Blueprint("audit", __name__, url_prefix="/audit")

from console.admin.audit import views  # noqa: E402,F401  (registers the routes)
