"""The admin audit log: `record` writes one entry per change (secrets redacted), `search`
reads them back filtered for the audit page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.admin.services.base import Actor
from store.admin_tables import AdminAudit

#: Fields whose values never reach the log; a change to one shows as "(changed)".
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "secret", "ha1", "ha1b", "token", "secret_sha256",
     "sip_password", "auth_password", "auth_ha1"}
)
REDACTED = "(secret)"
CHANGED = "(changed)"


def redact(values: dict[str, Any] | None, other: dict[str, Any] | None = None
           ) -> dict[str, Any] | None:
    """*values* with every secret replaced; a secret that differs from *other*'s is marked."""
    if values is None:
        return None
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_FIELDS:
            differs = other is not None and other.get(key) != value
            clean[key] = CHANGED if differs else REDACTED
        else:
            clean[key] = value
    return clean


def record(session: Session, actor: Actor, action: str, kind: str, target_id: object,
           name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Add the entry to *session* (it commits with the change it describes)."""
    session.add(
        AdminAudit(
            actor_id=actor.agent_id,
            actor=actor.username,
            via=actor.via,
            address=actor.address[:64],
            action=action,
            target_kind=kind,
            target_id=str(target_id),
            target_name=name[:200],
            before=redact(before, after),
            after=redact(after, before),
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    kind: str = ""
    action: str = ""
    text: str = ""
    limit: int = 200


def search(session: Session, wanted: AuditFilter) -> list[AdminAudit]:
    query = select(AdminAudit).order_by(AdminAudit.id.desc()).limit(max(1, min(wanted.limit, 1000)))
    if wanted.actor:
        query = query.where(AdminAudit.actor == wanted.actor)
    if wanted.kind:
        query = query.where(AdminAudit.target_kind == wanted.kind)
    if wanted.action:
        query = query.where(AdminAudit.action == wanted.action)
    if wanted.text:
        like = f"%{wanted.text}%"
        query = query.where(
            or_(AdminAudit.target_name.like(like), AdminAudit.target_id == wanted.text)
        )
    return list(session.scalars(query))


def as_json(entry: AdminAudit) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "actor": entry.actor,
        "via": entry.via,
        "address": entry.address,
        "action": entry.action,
        "target": {"kind": entry.target_kind, "id": entry.target_id, "name": entry.target_name},
        "before": entry.before,
        "after": entry.after,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"
