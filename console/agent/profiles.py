"""Customer profiles on the desk: open one (through a call or a logged search) and search.

Pages and JSON share `console.profile_access`; the rules live there.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.agent import bp
from console.auth.roles import AGENT_DESK, requires
from console.extensions import database, hub
from console.profile_access import (
    SEARCH_FIELDS,
    ProfileRefused,
    open_profile,
    own_search,
    search_customers,
    search_results,
)
from console.security_log import client_address
from store.models import CustomerSearch


def _search_id() -> int | None:
    raw = request.args.get("search", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _open(customer_id: int) -> tuple[dict[str, Any], Any]:
    with database().session() as session:
        return open_profile(
            session,
            g.agent,
            customer_id,
            search_id=_search_id(),
            search_minutes=float(current_app.config["PROFILE_SEARCH_MINUTES"]),
            live_calls=[(call.call_id, call.customer_id) for call in hub().calls()],
            source=client_address(),
        )


@bp.get("/customers/<int:customer_id>")
@requires(*AGENT_DESK)
def customer(customer_id: int) -> ResponseReturnValue:
    try:
        profile, opening = _open(customer_id)
    except ProfileRefused as refused:
        abort(refused.status, str(refused))
    return render_template("agent/customer.html", profile=profile, opening=opening)


@bp.get("/api/customers/<int:customer_id>")
@requires(*AGENT_DESK)
def customer_api(customer_id: int) -> ResponseReturnValue:
    try:
        profile, opening = _open(customer_id)
    except ProfileRefused as refused:
        return jsonify(error=str(refused)), refused.status
    return jsonify(customer=profile, opened_via=opening.via)


def _search(field: str, text: str) -> dict[str, Any]:
    with database().session() as session:
        found = search_customers(
            session,
            g.agent,
            field,
            text,
            per_hour=int(current_app.config["PROFILE_SEARCHES_PER_HOUR"]),
            source=client_address(),
        )
        return search_results(session, found)


def _search_page(status: int = 200, **shown: Any) -> ResponseReturnValue:
    shown.setdefault("field", "any")
    shown.setdefault("query", "")
    return render_template("agent/search.html", fields=SEARCH_FIELDS, **shown), status


@bp.get("/search")
@requires(*AGENT_DESK)
def search_page() -> ResponseReturnValue:
    return _search_page(found=None, error=None)


@bp.post("/search")
@requires(*AGENT_DESK)
def search() -> ResponseReturnValue:
    field = request.form.get("field", "any")
    text = request.form.get("q", "")
    try:
        found = _search(field, text)
    except ProfileRefused as refused:
        return _search_page(refused.status, found=None, error=str(refused), field=field, query=text)
    return redirect(url_for("agent.search_found", search_id=found["id"]))


@bp.get("/search/<int:search_id>")
@requires(*AGENT_DESK)
def search_found(search_id: int) -> ResponseReturnValue:
    with database().session() as session:
        found: CustomerSearch | None = own_search(session, g.agent, search_id)
        if found is None:
            abort(404, "no such search of yours")
        shown = search_results(session, found)
    return _search_page(found=shown, error=None, field=shown["field"], query=shown["query"])


@bp.post("/api/customers/search")
@requires(*AGENT_DESK)
def search_api() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    field, text = body.get("field", "any"), body.get("q", "")
    if not isinstance(field, str) or not isinstance(text, str):
        return jsonify(error="send {field, q} as text"), 400
    try:
        return jsonify(search=_search(field, text)), 201
    except ProfileRefused as refused:
        return jsonify(error=str(refused)), refused.status
