"""The thresholds page: alert rules' thresholds per queue and the desk's "supervisor is
listening" policy, edited by supervisors and admins (validated, audited, live within seconds)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.services.base import Actor, Invalid
from console.auth.roles import PHRASE_EDITORS, requires
from console.extensions import database
from console.security_log import client_address
from console.supervisor import bp, thresholds
from store.supervision import EVERY_QUEUE


def _actor() -> Actor:
    return Actor(g.agent.id, g.agent.username, client_address(), "page")


def _page(
    queue: str, errors: dict[str, str] | None = None, entered: dict[str, str] | None = None
) -> str:
    db = database()
    return render_template(
        "supervisor/thresholds.html",
        queue=queue,
        queues=thresholds.queue_names(db),
        rules=thresholds.effective(db, queue),
        knobs=thresholds.KNOBS,
        titles=thresholds.RULE_TITLES,
        presence=thresholds.presence(db),
        presence_choices=thresholds.PRESENCE,
        errors=errors or {},
        entered=entered or {},
        every_queue=EVERY_QUEUE,
    )


@bp.get("/thresholds")
@requires(*PHRASE_EDITORS)
def thresholds_page() -> ResponseReturnValue:
    queue = request.args.get("queue", EVERY_QUEUE)
    if queue not in thresholds.queue_names(database()):
        queue = EVERY_QUEUE
    return _page(queue)


@bp.post("/thresholds")
@requires(*PHRASE_EDITORS)
def save_thresholds() -> ResponseReturnValue:
    queue = request.form.get("queue", EVERY_QUEUE)
    try:
        if request.form.get("action") == "reset":
            removed = thresholds.reset(database(), queue, _actor())
            flash(f"Queue {queue} now uses every queue's thresholds ({removed} rows removed).")
        else:
            changed = thresholds.save(database(), queue, request.form.to_dict(), _actor())
            where = "every queue" if queue == EVERY_QUEUE else f"queue {queue}"
            flash(
                f"Thresholds of {where} saved ({changed} rules changed); live calls take "
                "them within a few seconds."
            )
    except Invalid as invalid:
        return _page(
            queue if queue in thresholds.queue_names(database()) else EVERY_QUEUE,
            invalid.errors,
            request.form.to_dict(),
        ), 422
    return redirect(url_for("supervisor.thresholds_page", queue=queue))


@bp.post("/thresholds/presence")
@requires(*PHRASE_EDITORS)
def save_presence() -> ResponseReturnValue:
    try:
        thresholds.set_presence(database(), request.form.get("shown", ""), _actor())
    except Invalid as invalid:
        return _page(EVERY_QUEUE, invalid.errors), 422
    flash("The desk's policy on showing a supervisor is saved.")
    return redirect(url_for("supervisor.thresholds_page"))
