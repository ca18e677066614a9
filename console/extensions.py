"""The console's shared objects, bound to the app in `create_app`: CSRF, database, event hub."""

from __future__ import annotations

from typing import cast

from flask import current_app
from flask_wtf.csrf import CSRFProtect

from console.hub import EventHub
from store.db import Database

csrf = CSRFProtect()


def database() -> Database:
    return cast(Database, current_app.extensions["centralino.db"])


def hub() -> EventHub:
    return cast(EventHub, current_app.extensions["centralino.hub"])
