"""The live-calls page, its event stream, the credits waiting for review, and the callback
requests with their tries and outcomes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.auth.roles import SUPERVISION, requires
from console.extensions import database, hub
from console.hub import SUPERVISORS
from console.streams import event_stream
from console.supervisor import bp
from console.worker_control import WorkerUnreachable, live_calls
from store.callbacks import recent_callbacks
from store.models import Account, Agent, Credit, Worker


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
            select(Credit, Agent.name, Account.number)
            .join(Agent, Credit.agent_id == Agent.id)
            .join(Account, Credit.account_id == Account.id)
            .where(Credit.flagged_for_review.is_(True))
            .order_by(Credit.at.desc())
            .limit(100)
        ).all()
    return [
        {
            "at": f"{credit.at:%Y-%m-%d %H:%M}",
            "agent": agent,
            "account": account,
            "amount": f"{credit.amount_cents / 100:.2f} {credit.currency}",
            "kind": credit.kind,
            "reason": credit.reason,
            "flag_reason": credit.flag_reason,
            "call_id": credit.call_id,
        }
        for credit, agent, account in rows
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


@bp.get("/")
@requires(*SUPERVISION)
def live() -> ResponseReturnValue:
    ringing = {call.call_id: call for call in hub().calls()}
    return render_template(
        "supervisor/live.html",
        calls=worker_calls(),
        ringing=ringing,
        credits=flagged_credits(),
        callbacks=callbacks(),
    )


@bp.get("/api/calls")
@requires(*SUPERVISION)
def calls_api() -> ResponseReturnValue:
    return jsonify(calls=worker_calls(), credits=flagged_credits(), callbacks=callbacks())


@bp.get("/events")
@requires(*SUPERVISION)
def events() -> Response:
    return event_stream(SUPERVISORS)
