"""``/api/admin/flows``: flows, versions, validation, rollback and assignment as JSON."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from console.admin.flows import api
from console.admin.services import flows
from console.admin.services.base import Actor
from console.admin.web import api_call, body


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _who: [flows.describe(session, f)
                                           for f, _numbers in flows.listing(session)])


@api.get("/<int:flow_id>")
def one(flow_id: int) -> ResponseReturnValue:
    def work(session: Session, _who: Actor) -> dict[str, Any]:
        flow = flows.get(session, flow_id)
        return {**flows.describe(session, flow), "text": flows.text_of(session, flow)}

    return api_call(work)


@api.post("/check")
def check() -> ResponseReturnValue:
    text = str(body().get("text", ""))
    return api_call(lambda _session, _who: {"issues": flows.check(text)})


@api.post("/")
def save() -> ResponseReturnValue:
    data = body()
    return api_call(lambda session, who: flows.describe(
        session, flows.save(session, who, str(data.get("text", "")), str(data.get("note", "")))
    ), 201)


@api.post("/<int:flow_id>/rollback")
def rollback(flow_id: int) -> ResponseReturnValue:
    version = int(body().get("version", 0))
    return api_call(lambda session, who: flows.describe(
        session, flows.rollback(session, who, flow_id, version)))


@api.post("/<int:flow_id>/assign")
def assign(flow_id: int) -> ResponseReturnValue:
    data = body()
    pinned = data.get("version")

    def work(session: Session, who: Actor) -> dict[str, Any]:
        support = flows.assign(session, who, flow_id, str(data.get("number", "")),
                               int(pinned) if pinned is not None else None)
        return {"number": support.number, "flow_id": support.flow_id,
                "flow_version": support.flow_version}

    return api_call(work)
