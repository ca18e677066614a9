"""The queues page: every queue with its skill, priority, relationship wait, ring timeout and
callbacks; add, edit (skill wait, callback offer, mode, tries and interval, survey, the music
of the wait: upload, listen, back to the melody), delete (refused while numbers feed it or
callers wait in it)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound as NoSuchFile
from werkzeug.exceptions import RequestEntityTooLarge

from console.admin.flows.uploads import too_large
from console.admin.queues import pages
from console.admin.services import queue_music, queues
from console.admin.services.base import AdminError, Invalid
from console.admin.web import actor, service_session


def _page(values: dict[str, Any], errors: dict[str, str], status: int = 200
          ) -> ResponseReturnValue:
    with service_session() as session:
        return render_template("admin/queues/list.html", queues=queues.listing(session),
                               values=values, errors=errors), status


@pages.get("/")
def index() -> ResponseReturnValue:
    return _page({"priority": 0, "relationship_wait_seconds": 20, "ring_timeout_seconds": 15}, {})


@pages.post("/")
def create() -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            name = queues.create(session, actor(), values).name
    except Invalid as error:
        return _page(values, error.errors, 422)
    flash(f"Queue {name} added.")
    return redirect(url_for("admin.queues.index"))


@pages.get("/<int:queue_id>")
def edit(queue_id: int) -> ResponseReturnValue:
    return _form(queue_id, None, {}, {})


def _form(queue_id: int, values: dict[str, Any] | None, errors: dict[str, str],
          music_errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    with service_session() as session:
        queue = queues.get(session, queue_id)
        return render_template("admin/queues/form.html", queue=queue,
                               values=values if values is not None else queues.describe(queue),
                               errors=errors, music_errors=music_errors,
                               users=queues.users(session, queue),
                               callback_modes=queues.CALLBACK_MODES), status


@pages.post("/<int:queue_id>/music")
def upload_music(queue_id: int) -> ResponseReturnValue:
    upload = request.files.get("music")
    try:
        with service_session() as session:
            done = queue_music.upload(session, actor(), current_app.config["VAR_DIR"], queue_id,
                                      upload.stream if upload and upload.filename else None,
                                      upload.filename or "" if upload else "")
    except Invalid as error:
        return _form(queue_id, None, {}, error.errors, 422)
    flash(f"Music {done['music']} ({done['seconds']} s) plays to callers who join "
          f"{done['queue']} from now on.")
    return redirect(url_for("admin.queues.edit", queue_id=queue_id))


@pages.post("/<int:queue_id>/music/clear")
def clear_music(queue_id: int) -> ResponseReturnValue:
    with service_session() as session:
        done = queue_music.clear(session, actor(), queue_id)
    flash(f"Callers who join {done['queue']} hear the built-in melody again.")
    return redirect(url_for("admin.queues.edit", queue_id=queue_id))


@pages.get("/<int:queue_id>/music/<name>")
def music(queue_id: int, name: str) -> ResponseReturnValue:
    with service_session() as session:
        queue = queues.get(session, queue_id)
        if name != queue.music:
            raise NoSuchFile()
        path = queue_music.music_path(current_app.config["VAR_DIR"], queue.name, name)
    if not path.is_file():
        raise NoSuchFile()
    return send_file(path, mimetype="audio/wav", max_age=3600)


@pages.post("/<int:queue_id>")
def update(queue_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            name = queues.update(session, actor(), queue_id, values).name
    except Invalid as error:
        return _form(queue_id, values, error.errors, {}, 422)
    flash(f"Queue {name} saved; it holds from the next caller on.")
    return redirect(url_for("admin.queues.index"))


@pages.post("/<int:queue_id>/delete")
def delete(queue_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            queues.delete(session, actor(), queue_id)
    except AdminError as error:
        flash(f"Not deleted: {error}.")
    else:
        flash("Queue deleted.")
    return redirect(url_for("admin.queues.index"))


@pages.errorhandler(RequestEntityTooLarge)
def _music_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    queue_id = (request.view_args or {}).get("queue_id")
    if request.endpoint != "admin.queues.upload_music" or not isinstance(queue_id, int):
        return "Request too large", 413
    return _form(queue_id, None, {}, {"music": too_large()}, 413)
