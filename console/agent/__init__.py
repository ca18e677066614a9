"""The agent desktop: device, state, screen pop, call controls, credits, wrap-up, profiles."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent", template_folder="templates")

from console.agent import actions, profiles, views  # noqa: E402,F401  (registers the routes)
