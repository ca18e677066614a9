"""Support numbers (name, locale, queue, flow) and the DIDs carriers deliver to them.

The edge serves what the store holds: its keeper re-reads support numbers and DIDs on every
interval (`telephony.edge_numbers`), so a change here is dialable within seconds, without a
restart. A number in use is never deleted silently: `delete` refuses while DIDs point at it or
calls to it are live, and says which.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import NAME_WORD, Actor, Conflict, Form, NotFound
from store.models import Call, CallState, Did, Flow, SupportNumber, Trunk

#: What the edge can route (telephony.edge_data.NUMBER): digits, * and #, a leading +.
NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
LOCALE = re.compile(r"[a-z]{2}(?:-[A-Z]{2})?")
_NUMBER_HINT = "digits, * or #, optionally a leading +, at most 32"


def describe(number: SupportNumber) -> dict[str, Any]:
    return {"id": number.id, "number": number.number, "name": number.name,
            "locale": number.locale, "queue": number.queue,
            "flow": number.flow.name if number.flow is not None else None}


def describe_did(did: Did) -> dict[str, Any]:
    return {"id": did.id, "number": did.number, "trunk": did.trunk.name,
            "support_number": did.support_number.number}


def listing(session: Session) -> list[SupportNumber]:
    return list(session.scalars(select(SupportNumber).order_by(SupportNumber.number)))


def dids(session: Session) -> list[Did]:
    return list(session.scalars(select(Did).order_by(Did.number)))


def get(session: Session, number_id: int) -> SupportNumber:
    found = session.get(SupportNumber, number_id)
    if found is None:
        raise NotFound(f"no support number {number_id}")
    return found


def _taken(session: Session, number: str, own: object) -> str | None:
    support = session.scalar(select(SupportNumber).where(SupportNumber.number == number))
    if support is not None and support is not own:
        return f"{number} is already the support number {support.name!r}"
    did = session.scalar(select(Did).where(Did.number == number))
    if did is not None and did is not own:
        return f"{number} is already a DID of {did.support_number.number}"
    return None


def _fields(session: Session, form: Form, current: SupportNumber | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "number": form.text("number", required=True, max_length=32, pattern=NUMBER,
                            hint=_NUMBER_HINT),
        "name": form.text("name", required=True, max_length=120),
        "locale": form.text("locale", max_length=8, pattern=LOCALE, hint="e.g. en, it, ko")
        or "en",
        "queue": form.text("queue", max_length=64, pattern=NAME_WORD,
                           hint="lower-case letters, digits, '-', '_' or '.'") or "support",
    }
    if values["number"] and (problem := _taken(session, values["number"], current)):
        form.errors["number"] = problem
    flow_name = form.text("flow", max_length=64)
    values["flow_id"] = None
    if flow_name:
        flow = session.scalar(select(Flow).where(Flow.name == flow_name))
        if flow is None:
            form.errors["flow"] = f"no flow named {flow_name!r}"
        else:
            values["flow_id"] = flow.id
    return values


def create(session: Session, actor: Actor, data: dict[str, Any]) -> SupportNumber:
    form = Form(data)
    values = _fields(session, form, None)
    form.check()
    number = SupportNumber(**values)
    session.add(number)
    session.flush()
    session.refresh(number)
    audit.record(session, actor, "number.create", "number", number.id, number.number,
                 None, describe(number))
    return number


def update(session: Session, actor: Actor, number_id: int, data: dict[str, Any]) -> SupportNumber:
    number = get(session, number_id)
    before = describe(number)
    form = Form({**before, **data})
    values = _fields(session, form, number)
    form.check()
    if values["number"] != number.number and (users := live_calls(session, number.number)):
        raise Conflict(f"{number.number} has {users} live call(s); change it after they end")
    for key, value in values.items():
        setattr(number, key, value)
    session.flush()
    session.refresh(number)
    audit.record(session, actor, "number.update", "number", number.id, number.number,
                 before, describe(number))
    return number


def live_calls(session: Session, number: str) -> int:
    return len(session.scalars(
        select(Call.id).where(Call.dialled == number, Call.state != CallState.ENDED)).all())


def users(session: Session, number: SupportNumber) -> list[str]:
    """What uses *number*: its DIDs, its live calls, the queue it feeds."""
    found = [f"DID {did}" for did in session.scalars(
        select(Did.number).where(Did.support_number_id == number.id))]
    calls = live_calls(session, number.number)
    if calls:
        found.append(f"{calls} live call(s)")
    return found


def delete(session: Session, actor: Actor, number_id: int) -> dict[str, Any]:
    number = get(session, number_id)
    in_use = users(session, number)
    if in_use:
        raise Conflict(f"{number.number} is in use by {', '.join(in_use)} (it feeds queue "
                       f"{number.queue!r}); move or remove those first")
    before = describe(number)
    session.delete(number)
    audit.record(session, actor, "number.delete", "number", number_id, before["number"],
                 before, None)
    return before


def add_did(session: Session, actor: Actor, data: dict[str, Any]) -> Did:
    form = Form(data)
    did_number = form.text("number", required=True, max_length=32, pattern=NUMBER,
                           hint=_NUMBER_HINT)
    if did_number and (problem := _taken(session, did_number, None)):
        form.errors["number"] = problem
    trunk_name = form.text("trunk", required=True, max_length=64)
    trunk = session.scalar(select(Trunk).where(Trunk.name == trunk_name)) if trunk_name else None
    if trunk_name and trunk is None:
        form.errors["trunk"] = f"no trunk named {trunk_name!r}"
    target = form.text("support_number", required=True, max_length=32)
    support = (session.scalar(select(SupportNumber).where(SupportNumber.number == target))
               if target else None)
    if target and support is None:
        form.errors["support_number"] = f"no support number {target}"
    form.check()
    assert trunk is not None and support is not None
    did = Did(number=did_number, trunk=trunk, support_number=support)
    session.add(did)
    session.flush()
    audit.record(session, actor, "did.create", "did", did.id, did.number, None, describe_did(did))
    return did


def remove_did(session: Session, actor: Actor, did_id: int) -> dict[str, Any]:
    did = session.get(Did, did_id)
    if did is None:
        raise NotFound(f"no DID {did_id}")
    calls = live_calls(session, did.number)
    if calls:
        raise Conflict(f"DID {did.number} has {calls} live call(s); remove it after they end")
    before = describe_did(did)
    session.delete(did)
    audit.record(session, actor, "did.delete", "did", did_id, before["number"], before, None)
    return before


def trunk_names(session: Session) -> list[str]:
    return list(session.scalars(select(Trunk.name).order_by(Trunk.name)))


def flow_names(session: Session) -> list[str]:
    return list(session.scalars(select(Flow.name).order_by(Flow.name)))
