"""``/api/admin/people``: the same operations as the pages, as JSON (docs/admin-api.md)."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from console.admin.people import api
from console.admin.services import people
from console.admin.services.base import Actor
from console.admin.web import api_call, body


def _welcome(session: Session, welcome: people.Welcome) -> dict[str, Any]:
    data = people.as_json(people.get(session, welcome.agent_id))
    if welcome.password:
        data["password"] = welcome.password
    if welcome.link_secret:
        data["password_link"] = url_for("auth.welcome", secret=welcome.link_secret,
                                        _external=True)
    return data


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _who: [people.as_json(p) for p in people.listing(session)])


@api.get("/<int:agent_id>")
def one(agent_id: int) -> ResponseReturnValue:
    return api_call(lambda session, _who: people.as_json(people.get(session, agent_id)))


@api.post("/")
def create() -> ResponseReturnValue:
    data = body()

    def work(session: Session, who: Actor) -> dict[str, Any]:
        made = people.create(session, who, data, current_app.config["PASSWORD_COST"])
        return _welcome(session, made)

    return api_call(work, 201)


@api.patch("/<int:agent_id>")
def update(agent_id: int) -> ResponseReturnValue:
    data = body()
    return api_call(
        lambda session, who: people.as_json(people.update(session, who, agent_id, data))
    )


@api.post("/<int:agent_id>/disable")
def disable(agent_id: int) -> ResponseReturnValue:
    response = api_call(lambda session, who: people.as_json(people.disable(session, who, agent_id)))
    current_app.extensions["centralino.streams"].close_person(agent_id, "signed_out")
    return response


@api.post("/<int:agent_id>/enable")
def enable(agent_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: people.as_json(people.enable(session, who, agent_id)))


@api.post("/<int:agent_id>/password")
def password(agent_id: int) -> ResponseReturnValue:
    how = str(body().get("how", "generate"))

    def work(session: Session, who: Actor) -> dict[str, Any]:
        made = people.reset_password(session, who, agent_id, how,
                                     current_app.config["PASSWORD_COST"])
        return _welcome(session, made)

    return api_call(work)
