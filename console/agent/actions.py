"""Agent actions as JSON APIs: state, device, call controls, wrap-up, credits, profiles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.agent import bp
from console.auth.roles import AGENT_DESK, requires
from console.credits import CreditRefused, CreditRequest, issue_credit
from console.extensions import database, hub
from console.hub import LiveCall, agent_topic
from console.profile_access import grant
from console.screenpop import customer_profile
from console.supervisor.alerts import raise_hand as raise_hand_alert
from console.worker_control import WorkerUnreachable, send_call_action
from store import agents
from store.models import (
    Account,
    Agent,
    AgentState,
    Call,
    Customer,
    Device,
    Interaction,
    Queue,
    SupportNumber,
    Worker,
)

SETTABLE_STATES = set(agents.OWN_STATES)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _refuse(message: str, status: int = 400) -> ResponseReturnValue:
    return jsonify(error=message), status


def _me(session: Session) -> Agent:
    """The signed-in person's row (`console.auth.roles` loaded it for this request)."""
    agent = session.get(Agent, g.agent.id)
    assert agent is not None, "the signed-in person has a row"
    return agent


def _my_call(call_id: str) -> LiveCall | None:
    """The live call if it rings or runs on this agent's device, else None."""
    call = hub().call(call_id)
    if call is not None:
        return call if call.agent_id == g.agent.id else None
    with database().session() as session:
        row = session.get(Call, call_id)
        if row is None or row.agent_id != g.agent.id or row.worker_id is None:
            return None
        worker = session.get(Worker, row.worker_id)
        if worker is None:
            return None
        return LiveCall(call_id, g.agent.id, worker.name, worker.api_url, row.customer_id)


def _call_to_wrap_up(call_id: str) -> LiveCall | None:
    """The call this agent writes up: theirs now, or the one their desk last showed them (a
    call they transferred on is the colleague's now, but the notes are still theirs)."""
    mine = _my_call(call_id)
    if mine is not None:
        return mine
    shown = hub().last_pop(g.agent.id)
    if shown is None or shown.get("call_id") != call_id:
        return None
    with database().session() as session:
        row = session.get(Call, call_id)
        if row is None:
            return None
        return LiveCall(call_id, g.agent.id, "", "", row.customer_id)


@bp.post("/api/state")
@requires(*AGENT_DESK)
def set_state() -> ResponseReturnValue:
    body = _body()
    wanted = _text(body, "state", 20)
    reason = _text(body, "reason", 120) or None
    if wanted not in SETTABLE_STATES:
        return _refuse("state must be available, paused or logged_out")
    if wanted == "paused" and not reason:
        return _refuse("say why you pause")
    with database().session() as session:
        agent = _me(session)
        if agent.state in agents.BUSY:
            return _refuse("finish the call first", 409)
        if wanted == "available" and agent.device_id is None:
            return _refuse("choose your device first", 409)
    if not agents.set_own_state(database(), g.agent.id, wanted, reason):
        return _refuse("finish the call first", 409)  # a call rang in meanwhile
    hub().publish(agent_topic(g.agent.id), "state", {"state": wanted, "reason": reason})
    return jsonify(state=wanted, reason=reason)


@bp.post("/api/device")
@requires(*AGENT_DESK)
def bind_device() -> ResponseReturnValue:
    extension = _text(_body(), "extension", 32)
    with database().session() as session:
        device = session.scalar(select(Device).where(Device.extension == extension))
        if device is None:
            return _refuse("no device with that extension", 404)
        holder = session.scalar(
            select(Agent).where(Agent.device_id == device.id, Agent.id != g.agent.id)
        )
        if holder is not None and holder.state != AgentState.LOGGED_OUT:
            return _refuse("that device is in use by someone signed in", 409)
        if holder is not None:
            holder.device_id = None
            session.flush()
        agent = _me(session)
        if agent.state in agents.BUSY:
            return _refuse("finish the call first", 409)
        agent.device_id = device.id
        answer = {"extension": device.extension, "label": device.label, "kind": device.kind.value}
    return jsonify(device=answer)


def _transfer_target(body: dict[str, Any]) -> str | None:
    """What the worker dials: a colleague's extension, or ``queue:<name>`` of a known queue
    (the worker puts the caller back in that line)."""
    target = _text(body, "to", 64)
    with database().session() as session:
        if target.startswith("queue:"):
            name = target.removeprefix("queue:")
            known = session.scalar(select(Queue.id).where(Queue.name == name)) or session.scalar(
                select(SupportNumber.id).where(SupportNumber.queue == name).limit(1)
            )
            return target if name and known is not None else None
        device = session.scalar(select(Device).where(Device.extension == target))
    return target if device is not None else None


@bp.post("/api/calls/<call_id>/<action>")
@requires(*AGENT_DESK)
def call_action(call_id: str, action: str) -> ResponseReturnValue:
    call = _my_call(call_id)
    if call is None:
        return _refuse("that is not your call", 404)
    body: dict[str, Any] = {}
    if action == "transfer":
        target = _transfer_target(_body())
        mode = _text(_body(), "mode", 16) or "blind"
        if target is None or mode not in {"blind", "attended"}:
            return _refuse("transfer to an agent's extension or a queue, blind or attended")
        body = {"to": target, "mode": mode}
    try:
        status, answer = send_call_action(
            call.worker_url,
            call_id,
            action,
            body,
            float(current_app.config["WORKER_TIMEOUT_SECONDS"]),
            current_app.config["WORKER_TOKEN"],
        )
    except ValueError as error:
        return _refuse(str(error), 404)
    except WorkerUnreachable as error:
        return _refuse(str(error), 502)
    return jsonify(worker_status=status, worker=answer), (200 if status < 400 else 502)


@bp.post("/api/wrapup")
@requires(*AGENT_DESK)
def wrap_up() -> ResponseReturnValue:
    body = _body()
    call_id = _text(body, "call_id", 64) or None
    outcome = _text(body, "outcome", 64) or "resolved"
    notes = _text(body, "notes", 5000) or None
    follow_up = _text(body, "follow_up", 2000) or None
    call = _call_to_wrap_up(call_id) if call_id else None
    if call_id and call is None:
        return _refuse("that is not your call", 404)
    customer_id = call.customer_id if call else None
    if customer_id is None and (notes or follow_up):
        return _refuse("create or link the caller's profile to keep these notes", 409)
    with database().session() as session:
        if customer_id is not None:
            known_call = call_id if call_id and session.get(Call, call_id) else None
            session.add(
                Interaction(
                    customer_id=customer_id,
                    agent_id=g.agent.id,
                    call_id=known_call,
                    outcome=outcome,
                    notes=notes,
                    follow_up=follow_up,
                )
            )
    agents.finish_wrap_up(database(), g.agent.id)
    state = str(agents.state_of(database(), g.agent.id))
    tracked = hub().call(call_id) if call_id else None
    if tracked is not None and tracked.agent_id == g.agent.id:  # not a colleague's call now
        hub().forget(tracked.call_id)
    shown = hub().last_pop(g.agent.id)
    if shown is not None and shown.get("call_id") in (call_id, None):
        hub().clear_pop(g.agent.id)
    hub().publish(agent_topic(g.agent.id), "state", {"state": state})
    return jsonify(saved=customer_id is not None, state=state)


@bp.post("/api/credits")
@requires(*AGENT_DESK)
def credit() -> ResponseReturnValue:
    body = _body()
    call_id = _text(body, "call_id", 64)
    call = _my_call(call_id) if call_id else None
    if call is None or call.customer_id is None:
        return _refuse("credits go to the customer on your current call", 404)
    try:
        account_id = int(body.get("account_id", 0))
    except (TypeError, ValueError):
        return _refuse("choose an account")
    credit_request = CreditRequest(
        account_id=account_id,
        amount=str(body.get("amount", "")),
        currency=_text(body, "currency", 3),
        reason=_text(body, "reason", 2000),
        kind=_text(body, "kind", 16) or "goodwill",
        call_id=call_id,
        idempotency_key=_text(body, "idempotency_key", 64) or None,
    )
    with database().session() as session:
        account = session.get(Account, account_id)
        if account is None or account.customer_id != call.customer_id:
            return _refuse("that account is not the caller's", 403)
        agent = _me(session)
        try:
            entry, new = issue_credit(session, agent, credit_request)
        except CreditRefused as error:
            return _refuse(str(error), 422)
        answer = {
            "id": entry.id,
            "amount_cents": entry.amount_cents,
            "currency": entry.currency,
            "kind": entry.kind,
            "flagged_for_review": entry.flagged_for_review,
            "at": entry.at.isoformat(timespec="seconds"),
            "new": new,
        }
    return jsonify(credit=answer), 201 if new else 200


def _attach_customer(call: LiveCall, customer_id: int) -> dict[str, Any] | None:
    """Tie the live call to a profile and return the refreshed profile for the page."""
    hub().track(replace(call, customer_id=customer_id))
    with database().session() as session:
        row = session.get(Call, call.call_id)
        if row is not None:
            row.customer_id = customer_id
        grant(session, g.agent.id, customer_id, call.call_id, "linked")
        profile = customer_profile(session, customer_id, g.agent.id)
    pop = hub().last_pop(g.agent.id)
    if pop is not None and pop.get("call_id") == call.call_id:
        hub().remember_pop(g.agent.id, {**pop, "customer": profile})
    return profile


@bp.post("/api/customers")
@requires(*AGENT_DESK)
def create_customer() -> ResponseReturnValue:
    body = _body()
    call = _my_call(_text(body, "call_id", 64))
    if call is None:
        return _refuse("that is not your call", 404)
    name = _text(body, "name", 200)
    if not name:
        return _refuse("a new profile needs a name")
    with database().session() as session:
        customer = Customer(
            name=name,
            phone=_text(body, "phone", 40) or None,
            email=_text(body, "email", 200) or None,
            preferences={},
        )
        session.add(customer)
        session.flush()
        customer_id = customer.id
    return jsonify(customer=_attach_customer(call, customer_id)), 201


@bp.post("/api/customers/link")
@requires(*AGENT_DESK)
def link_customer() -> ResponseReturnValue:
    body = _body()
    call = _my_call(_text(body, "call_id", 64))
    if call is None:
        return _refuse("that is not your call", 404)
    number = _text(body, "account_number", 32)
    with database().session() as session:
        account = session.scalar(select(Account).where(Account.number == number))
        customer_id = account.customer_id if account is not None else None
    if customer_id is None:
        return _refuse("no account with that number", 404)
    return jsonify(customer=_attach_customer(call, customer_id))


@bp.post("/api/raise-hand")
@requires(*AGENT_DESK)
def raise_hand() -> ResponseReturnValue:
    """Ask a supervisor for help: an alert on the floor naming the agent (and their call)."""
    body = _body()
    call_id = _text(body, "call_id", 64) or None
    if call_id is not None:
        with database().session() as session:
            row = session.get(Call, call_id)
            if row is None or row.agent_id != g.agent.id:
                call_id = None  # only the agent's own call is named
    alert_id = raise_hand_alert(database(), g.agent, call_id, _text(body, "note", 200))
    return jsonify(id=alert_id), 201
