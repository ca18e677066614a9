"""``/api/admin/flows``: flows, versions, validation, rollback and assignment as JSON."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from console.admin.flows import api
from console.admin.flows.uploads import too_large
from console.admin.services import flow_prompts, flows
from console.admin.services.base import Actor, AdminError
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


@api.post("/rehearse")
def rehearse() -> ResponseReturnValue:
    data = body()
    return api_call(lambda session, _who: flow_prompts.rehearsal(
        session, str(data.get("text", "")), str(data.get("turns", "")),
        str(data["locale"]) if data.get("locale") else None))


@api.post("/preview")
def preview() -> ResponseReturnValue:
    """The rendered prompt as a WAV (8 kHz mono), as a caller hears it."""
    data = body()
    try:
        rendered = flow_prompts.preview(
            current_app.config["VAR_DIR"], str(data.get("text", "")),
            str(data.get("prompt", "")), str(data.get("locale", "")),
            str(current_app.config.get("COMPANY_NAME") or ""))
    except AdminError as error:
        return jsonify(error.as_json()), error.status
    return send_file(rendered.path, mimetype="audio/wav", download_name=rendered.name)


@api.post("/<int:flow_id>/recordings")
def upload_recording(flow_id: int) -> ResponseReturnValue:
    """Multipart: ``file``, ``prompt``, ``locale``; the flow is saved as a new version."""
    upload = request.files.get("file")
    return api_call(lambda session, who: flow_prompts.upload(
        session, who, current_app.config["VAR_DIR"], flow_id, request.form.get("prompt", ""),
        request.form.get("locale", ""), upload.stream if upload and upload.filename else None,
        upload.filename or "" if upload else ""), 201)


@api.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return jsonify(error="invalid input", fields={"file": too_large()}), 413
