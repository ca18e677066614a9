"""The admin side's own tables: the append-only audit log of every admin change, per-admin API
tokens (stored hashed), one-time password links (stored hashed) and flow versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow


class AdminAudit(Base):
    """One admin change: who, when, from where, what, and the object before and after
    (secrets redacted before they reach this table). Rows are never updated or deleted."""

    __tablename__ = "admin_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # the username then, kept if renamed
    via: Mapped[str] = mapped_column(String(8))  # page | api | cli
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. device.create
    target_kind: Mapped[str] = mapped_column(String(32), index=True)
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_name: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AdminApiToken(Base):
    """A script's credential for ``/api/admin``: belongs to one admin, shown once, stored as the
    SHA-256 of its random part (a 256-bit secret needs no slow hash), revocable."""

    __tablename__ = "admin_api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PasswordLink(Base):
    """A one-time link with which a person sets their own password (stored hashed)."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    uses: Mapped[int] = mapped_column(Integer, default=0)


class FlowVersion(Base):
    """One saved version of a flow: its document, the text the admin typed (comments and all),
    who saved it and when. `store.flows` writes one per save; rows are never changed."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


@event.listens_for(AdminAudit, "before_update")
@event.listens_for(AdminAudit, "before_delete")
def _audit_is_append_only(_mapper: Any, _connection: Any, target: AdminAudit) -> None:
    raise PermissionError(f"admin audit entry {target.id} is append-only")


__all__ = ["AdminApiToken", "AdminAudit", "FlowVersion", "PasswordLink"]
