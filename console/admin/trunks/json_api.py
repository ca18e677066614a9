"""``/api/admin/trunks``: trunks and their live registration state as JSON (docs/admin-api.md)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue

from console.admin.services import trunks
from console.admin.trunks import api
from console.admin.web import api_call, body


def _with_state(trunk: Any) -> dict[str, Any]:
    states = trunks.states(current_app.config["VAR_DIR"]) or {}
    return {**trunks.describe(trunk), "state": trunks.state_json(states.get(trunk.name))}


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _who: [_with_state(t) for t in trunks.listing(session)])


@api.get("/<int:trunk_id>")
def one(trunk_id: int) -> ResponseReturnValue:
    return api_call(lambda session, _who: _with_state(trunks.get(session, trunk_id)))


@api.post("/")
def create() -> ResponseReturnValue:
    data = body()
    return api_call(lambda session, who: trunks.describe(trunks.create(session, who, data)), 201)


@api.patch("/<int:trunk_id>")
def update(trunk_id: int) -> ResponseReturnValue:
    data = body()
    return api_call(
        lambda session, who: trunks.describe(trunks.update(session, who, trunk_id, data))
    )


@api.delete("/<int:trunk_id>")
def delete(trunk_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: trunks.delete(session, who, trunk_id))
