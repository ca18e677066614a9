"""The queues page: every queue with its skill, priority, relationship wait, ring timeout and
callbacks; add, edit (skill wait, callback offer, mode, tries and interval, survey), delete
(refused while numbers feed it or callers wait in it)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.queues import pages
from console.admin.services import queues
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
    with service_session() as session:
        queue = queues.get(session, queue_id)
        return render_template("admin/queues/form.html", queue=queue,
                               values=queues.describe(queue), errors={},
                               users=queues.users(session, queue),
                               callback_modes=queues.CALLBACK_MODES)


@pages.post("/<int:queue_id>")
def update(queue_id: int) -> ResponseReturnValue:
    values = request.form.to_dict()
    try:
        with service_session() as session:
            name = queues.update(session, actor(), queue_id, values).name
    except Invalid as error:
        with service_session() as session:
            queue = queues.get(session, queue_id)
            return render_template("admin/queues/form.html", queue=queue, values=values,
                                   errors=error.errors, users=queues.users(session, queue),
                                   callback_modes=queues.CALLBACK_MODES), 422
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
