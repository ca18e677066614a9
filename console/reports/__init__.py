"""Reports: per agent, per queue and per day, as a page with charts and as CSV (same columns);
one call's page with its coaching marks, and each person's coaching page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

from console.reports import coaching, views  # noqa: E402,F401  (registers the routes)
