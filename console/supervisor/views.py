"""The supervisor's floor (queues, agents, live calls, alerts) pushed from the database, its
actions (acknowledge an alert, the watched phrases), the worker event log, flagged credits, and
the callback requests with their tries and outcomes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.auth.roles import PHRASE_EDITORS, SUPERVISION, requires
from console.extensions import database, hub
from console.hub import SUPERVISORS
from console.streams import event_stream, polled_stream
from console.supervisor import alerts, bp, day, floor, reviews
from console.worker_control import WorkerUnreachable, live_calls, send_call_action
from store.callbacks import recent_callbacks
from store.models import Account, Agent, Call, Credit, Device, Worker, utcnow
from store.supervision import CreditReview


def worker_calls() -> list[dict[str, Any]]:
    """Every live worker's ``GET /calls``, each call tagged with its worker's name."""
    with database().session() as session:
        workers = session.execute(
            select(Worker.name, Worker.api_url).where(Worker.alive.is_(True))
        ).all()
    timeout = min(1.0, float(current_app.config["WORKER_TIMEOUT_SECONDS"]))
    token = current_app.config["WORKER_TOKEN"]
    calls: list[dict[str, Any]] = []
    for name, url in workers:
        try:
            calls += [{**call, "worker": name} for call in live_calls(url, timeout, token)]
        except WorkerUnreachable:
            calls.append({"worker": name, "id": "—", "state": "worker unreachable"})
    return calls


def flagged_credits() -> list[dict[str, Any]]:
    with database().session() as session:
        rows = session.execute(
            select(Credit, Agent.name, Account.number, CreditReview.outcome)
            .join(Agent, Credit.agent_id == Agent.id)
            .join(Account, Credit.account_id == Account.id)
            .outerjoin(CreditReview, CreditReview.credit_id == Credit.id)
            .where(Credit.flagged_for_review.is_(True))
            .order_by(Credit.at.desc())
            .limit(100)
        ).all()
    return [
        {
            "id": credit.id,
            "review": outcome,
            "at": f"{credit.at:%Y-%m-%d %H:%M}",
            "agent": agent,
            "account": account,
            "amount": f"{credit.amount_cents / 100:.2f} {credit.currency}",
            "kind": credit.kind,
            "reason": credit.reason,
            "flag_reason": credit.flag_reason,
            "call_id": credit.call_id,
        }
        for credit, agent, account, outcome in rows
    ]


def callbacks() -> list[dict[str, Any]]:
    """The latest callback requests: number, queue, state, tries, next try and outcome."""
    with database().session() as session:
        rows = recent_callbacks(session)
    return [
        {
            "requested": f"{row.requested_at:%Y-%m-%d %H:%M}",
            "queue": row.queue,
            "number": row.number,
            "state": row.state,
            "attempts": row.attempts,
            "next_try": f"{row.next_attempt_at:%H:%M:%S}" if row.next_attempt_at else None,
            "outcome": row.outcome,
        }
        for row in rows
    ]


def _charts() -> dict[str, Any]:
    now = utcnow()
    with database().session() as session:
        return {"charts": day.charts(session, now), "drawn_at": f"{now:%H:%M:%S}"}


@bp.get("/charts")
@requires(*SUPERVISION)
def charts_fragment() -> ResponseReturnValue:
    """The day's charts as an HTML fragment (the floor page swaps it in while open)."""
    return render_template("supervisor/_charts.html", **_charts())


@bp.get("/")
@requires(*SUPERVISION)
def live() -> ResponseReturnValue:
    ringing = {call.call_id: call for call in hub().calls()}
    return render_template(
        "supervisor/live.html",
        **_charts(),
        calls=worker_calls(),
        ringing=ringing,
        credits=flagged_credits(),
        callbacks=callbacks(),
        service_level_seconds=floor.SERVICE_LEVEL_SECONDS,
    )


@bp.get("/api/calls")
@requires(*SUPERVISION)
def calls_api() -> ResponseReturnValue:
    return jsonify(calls=worker_calls(), credits=flagged_credits(), callbacks=callbacks())


@bp.get("/events")
@requires(*SUPERVISION)
def events() -> Response:
    return event_stream(SUPERVISORS)


def _floor() -> dict[str, Any]:
    with database().session() as session:
        return floor.snapshot(session)


@bp.get("/api/floor")
@requires(*SUPERVISION)
def floor_api() -> ResponseReturnValue:
    return jsonify(_floor())


@bp.get("/floor/stream")
@requires(*SUPERVISION)
def floor_stream() -> Response:
    db = database()

    def build() -> dict[str, Any]:
        with db.session() as session:
            return floor.snapshot(session)

    return polled_stream("floor", build, float(current_app.config["FLOOR_POLL_SECONDS"]))


@bp.post("/api/alerts/<int:alert_id>/ack")
@requires(*SUPERVISION)
def acknowledge(alert_id: int) -> ResponseReturnValue:
    if not alerts.acknowledge(database(), alert_id, g.agent.id):
        return jsonify(error="no such alert, or it was acknowledged"), 404
    return jsonify(ok=True)


@bp.get("/phrases")
@requires(*PHRASE_EDITORS)
def phrases_page() -> ResponseReturnValue:
    return render_template("supervisor/phrases.html", phrases=alerts.phrases(database()))


@bp.get("/api/phrases")
@requires(*PHRASE_EDITORS)
def phrases_api() -> ResponseReturnValue:
    return jsonify(phrases=alerts.phrases(database()))


@bp.post("/api/phrases")
@requires(*PHRASE_EDITORS)
def add_phrase() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    locale, phrase = body.get("locale"), body.get("phrase")
    if not isinstance(locale, str) or not isinstance(phrase, str):
        return jsonify(error="give a locale and a phrase"), 400
    try:
        phrase_id = alerts.add_phrase(database(), locale, phrase, g.agent.id)
    except alerts.BadPhrase as error:
        return jsonify(error=str(error)), 400
    return jsonify(id=phrase_id), 201


@bp.post("/api/phrases/<int:phrase_id>/delete")
@requires(*PHRASE_EDITORS)
def remove_phrase(phrase_id: int) -> ResponseReturnValue:
    if not alerts.remove_phrase(database(), phrase_id):
        return jsonify(error="no such phrase"), 404
    return jsonify(ok=True)



@bp.post("/api/credits/<int:credit_id>/review")
@requires(*SUPERVISION)
def review_credit(credit_id: int) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    outcome, note = body.get("outcome"), body.get("note")
    try:
        review_id = reviews.review(
            database(),
            credit_id,
            g.agent.id,
            outcome if isinstance(outcome, str) else "",
            note if isinstance(note, str) else "",
        )
    except reviews.ReviewRefused as refused:
        return jsonify(error=str(refused)), refused.status
    return jsonify(id=review_id), 201


MONITOR_MODES = ("listen", "whisper", "barge", "leave")


@bp.post("/api/calls/<call_id>/monitor")
@requires(*SUPERVISION)
def monitor(call_id: str) -> ResponseReturnValue:
    """Listen, whisper, barge or leave: the worker that owns the call rings this supervisor's
    device (their bound extension) and wires its conference bridge."""
    body = request.get_json(silent=True)
    mode = body.get("mode") if isinstance(body, dict) else None
    if mode not in MONITOR_MODES:
        return jsonify(error="the mode is listen, whisper, barge or leave"), 400
    with database().session() as session:
        call = session.get(Call, call_id[:64])
        worker = session.get(Worker, call.worker_id) if call and call.worker_id else None
        me = session.get(Agent, g.agent.id)
        device = session.get(Device, me.device_id) if me and me.device_id else None
        url = worker.api_url if worker is not None and worker.alive else None
        extension = device.extension if device is not None else None
    if url is None:
        return jsonify(error="no live call with that id on a live worker"), 404
    if extension is None and mode != "leave":
        return jsonify(error="bind your device on the desk first: it is the phone that rings"), 409
    config = current_app.config
    try:
        status, answer = send_call_action(
            url,
            call_id,
            "monitor",
            {"mode": mode, "extension": extension, "supervisor_id": g.agent.id},
            float(config["WORKER_TIMEOUT_SECONDS"]),
            config["WORKER_TOKEN"],
        )
    except WorkerUnreachable:
        return jsonify(error="the call's worker does not answer"), 502
    if status == 503:
        answer = {"error": "the call's worker has no room for another leg right now"}
    return jsonify(answer), status
