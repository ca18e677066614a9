"""``/api/devices/<extension>/state``: a headset POSTs its state (hook, call, mute, volume,
levels) signed with HTTP Digest by its own SIP credentials, checked against the device's HA1;
signed-in people read it back: agents their own device's, supervisors and admins any."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.extensions import database
from console.inventory.digest import DigestAnswer, challenge, verify
from console.inventory.headsets import HeadsetReport, headset_views, save_report
from console.security_log import security_event
from store.models import Device, Role

api_bp = Blueprint("devices_api", __name__, url_prefix="/api/devices")


def _secret() -> bytes:
    return ("headset-digest:" + str(current_app.config["SECRET_KEY"])).encode()


def _refused(realm: str) -> ResponseReturnValue:
    response = jsonify(error="sign the report with the device's SIP credentials (HTTP Digest)")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge(_secret(), realm)
    return response


@api_bp.post("/<extension>/state")
def report_state(extension: str) -> ResponseReturnValue:
    realm = str(current_app.config["SIP_DOMAIN"])
    with database().session() as session:
        device = session.scalar(select(Device).where(Device.extension == extension[:32]))
        if device is not None and device.sip_domain:
            realm = device.sip_domain
        answer = DigestAnswer.parse(request.headers.get("Authorization", ""))
        if answer is None:
            return _refused(realm)  # the first, unsigned try of every client
        uri = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        why = ("no such device" if device is None or device.disabled_at is not None else
               verify(answer, secret=_secret(), method="POST", uri=uri, realm=realm,
                      username=device.sip_username, ha1=device.ha1))
        if why is not None:
            security_event("headset.refused", answer.username[:64] or "-", reason=why)
            return _refused(realm)
        assert device is not None
        body: Any = request.get_json(silent=True)
        try:
            state = HeadsetReport.parse(body)
        except ValueError as error:
            return jsonify(error=f"not a headset state report: {error}"), 400
        if state.extension != device.extension:
            return jsonify(error="the report names another extension"), 400
        save_report(session, device, state)
    return "", 204


@api_bp.get("/<extension>/state")
def read_state(extension: str) -> ResponseReturnValue:
    agent = g.get("agent")
    if agent is None:
        return jsonify(error="sign in first"), 401
    with database().session() as session:
        device = session.scalar(select(Device).where(Device.extension == extension[:32]))
        if device is None:
            return jsonify(error="no such device"), 404
        if agent.role == Role.AGENT and agent.device_id != device.id:
            return jsonify(error="agents see their own headset only"), 403
        views = headset_views(session, device.id)
    if not views:
        return jsonify(error="this device has not reported a headset state"), 404
    return jsonify(views[0].to_json())
