"""Who may open which customer's profile: grants given by calls, agents' searches, and every
opening of a profile (logged), the console's access rules' tables (docs/security-console.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow


class ProfileGrant(Base):
    """An agent's right to open a customer's profile, given by a call offered to them
    (``offered``) or a call they tied to that customer (``linked``)."""

    __tablename__ = "profile_grants"
    __table_args__ = (Index(None, "agent_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    call_id: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CustomerSearch(Base):
    """A logged search of customer profiles: who searched for what, when, and what it found."""

    __tablename__ = "customer_searches"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    field: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(200))
    result_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(64))


class ProfileOpening(Base):
    """A logged opening of a customer's profile: who, when, and by which right (``via``)."""

    __tablename__ = "profile_openings"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str | None] = mapped_column(String(64))
    search_id: Mapped[int | None] = mapped_column(ForeignKey("customer_searches.id"))
    source: Mapped[str | None] = mapped_column(String(64))
