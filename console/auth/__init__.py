"""Sign-in and sign-out: hashed passwords, fresh sessions, throttled wrong passwords."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from console.auth import views, welcome  # noqa: E402,F401  (registers the routes)
