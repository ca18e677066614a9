"""``/api/admin/queues``: queues as JSON (docs/admin-api.md)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from console.admin.queues import api
from console.admin.services import queues
from console.admin.web import api_call, body


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _who: [queues.describe(q) for q in queues.listing(session)])


@api.post("/")
def create() -> ResponseReturnValue:
    data = body()
    return api_call(lambda session, who: queues.describe(queues.create(session, who, data)), 201)


@api.patch("/<int:queue_id>")
def update(queue_id: int) -> ResponseReturnValue:
    data = body()
    return api_call(
        lambda session, who: queues.describe(queues.update(session, who, queue_id, data))
    )


@api.delete("/<int:queue_id>")
def delete(queue_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: queues.delete(session, who, queue_id))
