"""Trunks (our accounts at carriers): add, edit, registration on/off, priority, delete (refused
while DIDs arrive on it), and their live registration state.

Outbound calls (callbacks to customers) try the enabled trunks in priority order, the lowest
number first: a carrier that times out or answers 408 or 5xx hands the call to the next one
(the edge's dispatcher set 2, `telephony.edge_data.trunk_destinations`).

The secret is write-only: it is never shown again, and is kept as the HA1 digest
MD5(username:realm:secret), which Kamailio 5.6's uac module signs with (``uacreg.auth_ha1``);
only a trunk without a realm keeps the plaintext, which digest needs then (docs/security.md).
The edge's keeper applies every change to Kamailio within seconds, without a restart
(telephony/edge_trunks.py), and reports the state read here (`store.trunk_state`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import NAME_WORD, Actor, Conflict, Form, NotFound
from store import trunk_state
from store.models import Did, Trunk
from store.passwords import sip_ha1

#: host or IPv4 literal, an optional port: what goes into a SIP URI's host part.
HOSTPORT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,200})(?::[0-9]{1,5})?")
USER = re.compile(r"[A-Za-z0-9+_.!~*'()&=$,;?/-]{1,64}")
REALM = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}")
TRANSPORTS = ("udp", "tcp")
_HOST_HINT = "a host name or IP address, optionally :port"


def describe(trunk: Trunk) -> dict[str, Any]:
    """What the page and the API show; the secret only as whether and how it is kept."""
    return {
        "id": trunk.id, "name": trunk.name, "registrar": trunk.registrar,
        "transport": trunk.transport, "proxy": trunk.proxy, "realm": trunk.realm,
        "username": trunk.username, "expires": trunk.expires, "registration": trunk.enabled,
        "priority": trunk.priority,
        "secret": "ha1" if trunk.secret_ha1 else ("plaintext" if trunk.secret else "none"),
        "dids": sorted(did.number for did in trunk.dids),
    }


def _audited(trunk: Trunk) -> dict[str, Any]:
    # the digest itself is a secret: its change shows as "(changed)" and nothing more
    return {**describe(trunk), "auth_ha1": trunk.secret_ha1 or trunk.secret}


def listing(session: Session) -> list[Trunk]:
    """Every trunk in the order outbound calls try them (priority, then name)."""
    return list(session.scalars(select(Trunk).order_by(Trunk.priority, Trunk.name)))


def get(session: Session, trunk_id: int) -> Trunk:
    found = session.get(Trunk, trunk_id)
    if found is None:
        raise NotFound(f"no trunk {trunk_id}")
    return found


def _fields(session: Session, form: Form, current: Trunk | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": form.text("name", required=True, max_length=64, pattern=NAME_WORD,
                          hint="lower-case letters, digits, '-', '_' or '.'"),
        "registrar": form.text("registrar", required=True, max_length=255, pattern=HOSTPORT,
                               hint=_HOST_HINT),
        "proxy": form.text("proxy", max_length=255, pattern=HOSTPORT, hint=_HOST_HINT),
        "username": form.text("username", required=True, max_length=64, pattern=USER,
                              hint="the account name the carrier gave you"),
        "realm": form.text("realm", max_length=64, pattern=REALM,
                           hint="the carrier's digest realm, e.g. sip.carrier.example") or "",
        "expires": form.integer("expires", default=300, low=60, high=3600),
        "priority": form.integer("priority", default=current.priority if current else 10,
                                 low=0, high=999),
        "enabled": form.flag("registration", default=current.enabled if current else True),
    }
    transport = form.text("transport", max_length=8) or "udp"
    if transport not in TRANSPORTS:
        form.errors["transport"] = "udp or tcp"
    values["transport"] = transport
    if values["name"]:
        other = session.scalar(select(Trunk).where(Trunk.name == values["name"]))
        if other is not None and other is not current:
            form.errors["name"] = f"a trunk named {values['name']!r} exists"
    secret = str(form.data.get("secret") or "")
    if current is None and not secret:
        form.errors["secret"] = "required"
    elif len(secret) > 63:  # uac keeps at most 63 characters of a password
        form.errors["secret"] = "at most 63 characters"
    values["secret"] = secret
    realm_moved = current is not None and values["realm"] != current.realm
    if realm_moved and not secret and current is not None and current.secret_ha1:
        form.errors["secret"] = "type the secret again: the realm is part of its digest"
    return values


def _apply(trunk: Trunk, values: dict[str, Any]) -> None:
    secret = values.pop("secret")
    for key, value in values.items():
        setattr(trunk, key, value)
    if secret:
        if trunk.realm:
            trunk.secret_ha1, trunk.secret = sip_ha1(trunk.username, trunk.realm, secret), ""
        else:
            trunk.secret_ha1, trunk.secret = "", secret
    elif trunk.secret and trunk.realm:  # a realm arrived for a plaintext secret: hash it now
        trunk.secret_ha1, trunk.secret = sip_ha1(trunk.username, trunk.realm, trunk.secret), ""


def create(session: Session, actor: Actor, data: dict[str, Any]) -> Trunk:
    form = Form(data)
    values = _fields(session, form, None)
    form.check()
    trunk = Trunk(secret="", secret_ha1="")
    _apply(trunk, values)
    session.add(trunk)
    session.flush()
    session.refresh(trunk)
    audit.record(session, actor, "trunk.create", "trunk", trunk.id, trunk.name, None,
                 _audited(trunk))
    return trunk


def update(session: Session, actor: Actor, trunk_id: int, data: dict[str, Any]) -> Trunk:
    trunk = get(session, trunk_id)
    before = _audited(trunk)
    kept = {key: value for key, value in describe(trunk).items() if key != "secret"}
    form = Form({**kept, **data})
    values = _fields(session, form, trunk)
    form.check()
    if values["username"] != trunk.username and not values["secret"] and trunk.secret_ha1:
        raise Conflict("type the secret again: the username is part of its digest")
    _apply(trunk, values)
    session.flush()
    audit.record(session, actor, "trunk.update", "trunk", trunk.id, trunk.name, before,
                 _audited(trunk))
    return trunk


def set_registration(session: Session, actor: Actor, trunk_id: int, on: bool) -> Trunk:
    trunk = get(session, trunk_id)
    before = _audited(trunk)
    trunk.enabled = on
    session.flush()
    audit.record(session, actor, "trunk.register" if on else "trunk.unregister", "trunk",
                 trunk.id, trunk.name, before, _audited(trunk))
    return trunk


def delete(session: Session, actor: Actor, trunk_id: int) -> dict[str, Any]:
    trunk = get(session, trunk_id)
    dids = sorted(session.scalars(select(Did.number).where(Did.trunk_id == trunk.id)))
    if dids:
        raise Conflict(f"trunk {trunk.name} carries DID {', '.join(dids)}; remove or move "
                       "those first")
    before = _audited(trunk)
    session.delete(trunk)
    audit.record(session, actor, "trunk.delete", "trunk", trunk_id, before["name"], before, None)
    return describe_plain(before)


def describe_plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key != "auth_ha1"}


def states(var_dir: str) -> dict[str, trunk_state.TrunkState] | None:
    """The live registration states the edge reported (None: no edge reported lately)."""
    return trunk_state.read(var_dir)


def state_json(state: trunk_state.TrunkState | None) -> dict[str, Any]:
    if state is None:
        return {"status": "unknown"}
    return {"status": state.status, "last_code": state.last_code,
            "last_reason": state.last_reason, "next_attempt_at": state.next_attempt_at,
            "expires_in": state.expires_in}
