"""The live-calls page, its event stream, and the list of credits waiting for review."""

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


@bp.get("/")
@requires(*SUPERVISION)
def live() -> ResponseReturnValue:
    ringing = {call.call_id: call for call in hub().calls()}
    return render_template(
        "supervisor/live.html",
        calls=worker_calls(),
        ringing=ringing,
        credits=flagged_credits(),
    )


@bp.get("/api/calls")
@requires(*SUPERVISION)
def calls_api() -> ResponseReturnValue:
    return jsonify(calls=worker_calls(), credits=flagged_credits())


@bp.get("/events")
@requires(*SUPERVISION)
def events() -> Response:
    return event_stream(SUPERVISORS)
