"""``/api/admin/queues``: queues as JSON (docs/admin-api.md)."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from console.admin.flows.uploads import too_large
from console.admin.queues import api
from console.admin.services import queue_music, queues
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


@api.post("/<int:queue_id>/music")
def upload_music(queue_id: int) -> ResponseReturnValue:
    """Multipart ``music=@file``: the queue's music from the next caller on."""
    upload = request.files.get("music")
    var_dir = current_app.config["VAR_DIR"]
    return api_call(lambda session, who: queue_music.upload(
        session, who, var_dir, queue_id,
        upload.stream if upload and upload.filename else None,
        upload.filename or "" if upload else ""), 201)


@api.delete("/<int:queue_id>/music")
def clear_music(queue_id: int) -> ResponseReturnValue:
    return api_call(lambda session, who: queue_music.clear(session, who, queue_id))


@api.errorhandler(RequestEntityTooLarge)
def _music_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return jsonify(error="invalid input", fields={"music": too_large()}), 413
