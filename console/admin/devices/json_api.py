"""``/api/admin/devices``: the same operations as the pages, as JSON (docs/admin-api.md)."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from console.admin.devices import api
from console.admin.devices.reprovision import reprovision
from console.admin.services import devices
from console.admin.services.base import Actor
from console.admin.web import api_call, body, sip_domain


def _one(session: Session, device_id: int) -> dict[str, Any]:
    device = devices.get(session, device_id)
    return devices.as_json(device, devices.registrations(session).get(device.sip_username, []))


@api.get("/")
def listing() -> ResponseReturnValue:
    return api_call(lambda session, _actor: [
        devices.as_json(device, found) for device, found in devices.listing(session)
    ])


@api.get("/<int:device_id>")
def one(device_id: int) -> ResponseReturnValue:
    return api_call(lambda session, _actor: _one(session, device_id))


@api.post("/")
def create() -> ResponseReturnValue:
    data = body()

    def work(session: Session, who: Actor) -> dict[str, Any]:
        made = devices.create(session, who, data, sip_domain())
        return {**_one(session, made.device_id), "sip_password": made.password,
                "sip_domain": made.domain}

    return api_call(work, 201)


@api.patch("/<int:device_id>")
def update(device_id: int) -> ResponseReturnValue:
    data = body()

    def work(session: Session, who: Actor) -> dict[str, Any]:
        devices.update(session, who, device_id, data)
        return _one(session, device_id)

    return _reprovisioned(device_id, api_call(work))


@api.post("/<int:device_id>/disable")
def disable(device_id: int) -> ResponseReturnValue:
    return api_call(
        lambda session, who: devices.as_json(devices.disable(session, who, device_id), [])
    )


@api.post("/<int:device_id>/enable")
def enable(device_id: int) -> ResponseReturnValue:
    def work(session: Session, who: Actor) -> dict[str, Any]:
        devices.enable(session, who, device_id)
        return _one(session, device_id)

    return api_call(work)


@api.post("/<int:device_id>/credentials")
def credentials(device_id: int) -> ResponseReturnValue:
    def work(session: Session, who: Actor) -> dict[str, Any]:
        made = devices.new_credentials(session, who, device_id, sip_domain())
        return {**_one(session, device_id), "sip_password": made.password,
                "sip_domain": made.domain}

    return _reprovisioned(device_id, api_call(work))


def _reprovisioned(device_id: int, answer: ResponseReturnValue) -> ResponseReturnValue:
    """*answer*, after a desk phone's successful change was queued for re-provisioning."""
    if isinstance(answer, tuple) and isinstance(answer[1], int) and answer[1] < 300:
        reprovision(device_id)
    return answer
