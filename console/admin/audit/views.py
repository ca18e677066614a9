"""The audit log page and its JSON twin: newest first, filtered by admin, kind, action, text."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.admin.audit import api, pages
from console.admin.services import audit
from console.admin.web import api_call, service_session
from store.admin_tables import AdminAudit


def _filter() -> audit.AuditFilter:
    args = request.args
    try:
        limit = int(args.get("limit", "200"))
    except ValueError:
        limit = 200
    return audit.AuditFilter(
        actor=args.get("actor", "")[:64], kind=args.get("kind", "")[:32],
        action=args.get("action", "")[:64], text=args.get("q", "")[:100], limit=limit,
    )


@pages.get("/")
def index() -> ResponseReturnValue:
    wanted = _filter()
    with service_session() as session:
        entries = audit.search(session, wanted)
        kinds = sorted(set(session.scalars(select(AdminAudit.target_kind).distinct())))
        actors = sorted(set(session.scalars(select(AdminAudit.actor).distinct())))
        return render_template("admin/audit/list.html", entries=entries, wanted=wanted,
                               kinds=kinds, actors=actors)


@api.get("/")
def listing() -> ResponseReturnValue:
    wanted = _filter()
    return api_call(lambda session, _who: [audit.as_json(e) for e in audit.search(session, wanted)])
