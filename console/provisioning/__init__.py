"""The phone-facing provisioning endpoint: ``GET /provisioning/<file>`` hands each desk phone
its file by MAC in its vendor's format (the files are `hardware.provisioning`'s)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("provisioning", __name__, url_prefix="/provisioning")

from console.provisioning import views  # noqa: E402,F401  (registers the routes)
