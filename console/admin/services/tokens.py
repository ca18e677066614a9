"""Per-admin API tokens: made in the console (the secret shown once), stored as a SHA-256,
checked on every ``/api/admin`` request (``Authorization: Bearer``), revoked in one click."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import Actor, Form, NotFound
from store.admin_tables import AdminApiToken
from store.models import Agent, Role, utcnow

PREFIX = "cta_"  # Centralino token, admin: recognisable in a leaked file or a secret scanner


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    id: int
    label: str
    secret: str  # shown once, never stored


def create(session: Session, actor: Actor, data: dict[str, Any]) -> NewToken:
    form = Form(data)
    label = form.text("label", required=True, max_length=120)
    form.check()
    assert label is not None and actor.agent_id is not None
    secret = PREFIX + secrets.token_urlsafe(32)
    row = AdminApiToken(agent_id=actor.agent_id, label=label, secret_sha256=_digest(secret),
                        hint=secret[:8])
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.create", "token", row.id, label, None, describe(row))
    return NewToken(row.id, label, secret)


def revoke(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(AdminApiToken, token_id)
    if row is None or row.revoked_at is not None:
        raise NotFound("no such active token")
    before = describe(row)
    row.revoked_at = utcnow()
    audit.record(session, actor, "token.revoke", "token", row.id, row.label, before, describe(row))


def listing(session: Session) -> list[tuple[AdminApiToken, str]]:
    """Every token with its owner's username, newest first."""
    rows = session.execute(
        select(AdminApiToken, Agent.username)
        .join(Agent, Agent.id == AdminApiToken.agent_id)
        .order_by(AdminApiToken.id.desc())
    ).all()
    return [(token, username) for token, username in rows]


def holder(session: Session, authorization: str | None) -> tuple[Agent | None, str]:
    """The person an ``Authorization: Bearer`` header names, and why not when None: the
    caller answers 401 for a missing/unknown/revoked token. The role is not checked here."""
    if not authorization or authorization[:7].lower() != "bearer ":
        return None, "missing bearer token"
    offered = authorization[7:].strip()
    if not offered.startswith(PREFIX):
        return None, "not an admin API token"
    digest = _digest(offered)
    row = session.scalar(select(AdminApiToken).where(AdminApiToken.secret_sha256 == digest))
    if row is None or not hmac.compare_digest(row.secret_sha256, digest):
        return None, "unknown token"
    if row.revoked_at is not None:
        return None, "revoked token"
    agent = session.get(Agent, row.agent_id)
    if agent is None or agent.disabled_at is not None:
        return None, "token of a disabled person"
    row.last_used_at = utcnow()
    return agent, ""


def may_administer(agent: Agent) -> bool:
    return agent.role == Role.ADMIN and agent.disabled_at is None


def describe(row: AdminApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "owner_id": row.agent_id,
        "hint": row.hint,
        "created_at": row.created_at.isoformat(timespec="seconds") if row.created_at else None,
        "revoked_at": row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else None,
    }
