"""``/api/admin/numbers``: support numbers and DIDs as JSON (docs/admin-api.md)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from console.admin.numbers import api
from console.admin.services import numbers
from console.admin.web import api_call, body


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _who: [numbers.describe(n) for n in numbers.listing(session)])


@api.post("/")
def create() -> ResponseReturnValue:
    data = body()
    return api_call(lambda session, who: numbers.describe(numbers.create(session, who, data)), 201)


@api.patch("/<int:number_id>")
def update(number_id: int) -> ResponseReturnValue:
    data = body()
    return api_call(
        lambda session, who: numbers.describe(numbers.update(session, who, number_id, data))
    )


@api.delete("/<int:number_id>")
def delete(number_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: numbers.delete(session, who, number_id))


@api.get("/dids")
def dids() -> ResponseReturnValue:
    return api_call(lambda session, _who: [numbers.describe_did(d) for d in numbers.dids(session)])


@api.post("/dids")
def add_did() -> ResponseReturnValue:
    data = body()
    return api_call(
        lambda session, who: numbers.describe_did(numbers.add_did(session, who, data)), 201
    )


@api.delete("/dids/<int:did_id>")
def remove_did(did_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: numbers.remove_did(session, who, did_id))
