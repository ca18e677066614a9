"""Admin area: API tokens (made and revoked here; the API itself checks them in
`console.admin.web.guard_api`), over `console.admin.services.tokens`."""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("tokens", __name__, url_prefix="/tokens", template_folder="templates")

from console.admin.tokens import views  # noqa: E402,F401  (registers the routes)
