"""IVR flows: save the YAML an admin typed as a new version (validated by `ivr.flow`; every
problem comes back with its line and field, and nothing is stored), roll back in one step (the
old version saved again as the newest), and choose which flow and version a support number
plays. A call reads its number's flow when it starts (`store.flows.flow_for_number`), so the
next call hears a change and calls in progress keep the version they started with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import Actor, AdminError, NotFound
from ivr.document import dump_document
from ivr.flow import DEFAULT_FLOW_PATH, FlowError, load_flow
from store import flows as flow_store
from store.models import Flow, SupportNumber

MAX_FLOW_TEXT = 200_000


class FlowInvalid(AdminError):
    """The flow text does not validate: *issues* are the validator's, with line and field."""

    status = 422

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"line {i['line']}: {i['field']}: {i['message']}"
                                   for i in issues))
        self.issues = issues

    def as_json(self) -> dict[str, Any]:
        return {"error": "invalid flow", "issues": self.issues}


def check(text: str) -> list[dict[str, Any]]:
    """Every problem in *text* as {line, field, message} (empty when the flow is valid)."""
    if len(text) > MAX_FLOW_TEXT:
        too_long = f"longer than {MAX_FLOW_TEXT} characters"
        return [{"line": 0, "field": "document", "message": too_long}]
    try:
        load_flow(text, "flow")
    except FlowError as error:
        return [{"line": i.line, "field": i.field, "message": i.message} for i in error.issues]
    return []


def listing(session: Session) -> list[tuple[Flow, list[str]]]:
    """Every flow with the support numbers that play it."""
    rows = []
    for flow in session.scalars(select(Flow).order_by(Flow.name)):
        numbers = list(session.scalars(select(SupportNumber.number)
                                       .where(SupportNumber.flow_id == flow.id)))
        rows.append((flow, numbers))
    return rows


def get(session: Session, flow_id: int) -> Flow:
    flow = session.get(Flow, flow_id)
    if flow is None:
        raise NotFound(f"no flow {flow_id}")
    return flow


def text_of(session: Session, flow: Flow) -> str:
    """What the editor shows: the text saved with the latest version, else the document."""
    latest = flow_store.version(session, flow.id, flow.version)
    if latest is not None and latest.text:
        return latest.text
    return dump_document(dict(flow.document))


def starter_text() -> str:
    return DEFAULT_FLOW_PATH.read_text(encoding="utf-8")


def save(session: Session, actor: Actor, text: str, note: str = "",
         expect_name: str | None = None) -> Flow:
    """Validate and store *text* as the next version of the flow it names."""
    issues = check(text)
    if issues:
        raise FlowInvalid(issues)
    parsed = load_flow(text, "flow")
    if expect_name is not None and parsed.name != expect_name:
        raise FlowInvalid([{"line": 1, "field": "name",
                            "message": f"this page edits flow {expect_name!r}; "
                                       f"save a new flow to use {parsed.name!r}"}])
    previous = session.scalar(select(Flow.version).where(Flow.name == parsed.name))
    flow = flow_store.save_version(session, parsed.name, dict(parsed.document), text=text,
                                   author=actor.username, note=note)
    audit.record(session, actor, "flow.save", "flow", flow.id, flow.name,
                 {"version": previous} if previous else None,
                 {"version": flow.version, "note": note})
    return flow


def rollback(session: Session, actor: Actor, flow_id: int, to_version: int) -> Flow:
    flow = get(session, flow_id)
    old = flow_store.version(session, flow_id, to_version)
    if old is None:
        raise NotFound(f"flow {flow.name} has no stored version {to_version}")
    previous = flow.version
    flow_store.save_version(session, flow.name, old.document, text=old.text,
                            author=actor.username, note=f"rollback to version {to_version}")
    audit.record(session, actor, "flow.rollback", "flow", flow.id, flow.name,
                 {"version": previous}, {"version": flow.version, "copy_of": to_version})
    return flow


def assign(session: Session, actor: Actor, flow_id: int, number: str,
           pinned: int | None) -> SupportNumber:
    """Play flow *flow_id* on support *number*: version *pinned*, or always the latest."""
    flow = get(session, flow_id)
    support = session.scalar(select(SupportNumber).where(SupportNumber.number == number))
    if support is None:
        raise NotFound(f"no support number {number}")
    if pinned is not None and flow_store.version(session, flow_id, pinned) is None:
        raise NotFound(f"flow {flow.name} has no stored version {pinned}")
    before = {"flow_id": support.flow_id, "flow_version": support.flow_version}
    support.flow_id, support.flow_version = flow.id, pinned
    audit.record(session, actor, "number.flow", "number", support.id, support.number, before,
                 {"flow_id": flow.id, "flow": flow.name, "flow_version": pinned})
    return support


def describe(session: Session, flow: Flow) -> dict[str, Any]:
    return {
        "id": flow.id, "name": flow.name, "version": flow.version,
        "numbers": list(session.scalars(select(SupportNumber.number)
                                        .where(SupportNumber.flow_id == flow.id))),
        "versions": [{"version": v.version, "author": v.author, "note": v.note,
                      "created_at": v.created_at.isoformat(timespec="seconds") + "Z"}
                     for v in flow_store.versions(session, flow.id)],
    }
