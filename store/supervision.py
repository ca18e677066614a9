"""The supervisor's tables: alerts and their rules, watched phrases, live transcript lines,
monitor sessions (listen / whisper / barge) and reviews of flagged credits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow

#: The queue name of rule thresholds that apply to every queue without its own.
EVERY_QUEUE = "*"


class AlertRow(Base):
    """Something on a live call a supervisor should see: which call, why, and the words."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # upset | topic | silence | ... | raise_hand
    reason: Mapped[str] = mapped_column(String(300))
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    worker: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class AlertRule(Base):
    """One rule's thresholds for one queue (``*``: every queue without its own row)."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("queue", "rule", name="uq_alert_rules_queue_rule"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), default=EVERY_QUEUE)
    rule: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class WatchedPhrase(Base):
    """A phrase that raises a topic alert when a caller (or agent) says it, per locale."""

    __tablename__ = "watched_phrases"
    __table_args__ = (
        UniqueConstraint("locale", "phrase", name="uq_watched_phrases_locale_phrase"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), index=True)
    phrase: Mapped[str] = mapped_column(String(120))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TranscriptLine(Base):
    """A final transcript line of a live call as it is said, with the caller's mood then."""

    __tablename__ = "transcript_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    mood: Mapped[str | None] = mapped_column(String(16))
    mood_score: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class MonitorSession(Base):
    """A supervisor's listen / whisper / barge leg on one call: who, which modes, when."""

    __tablename__ = "monitor_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    extension: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(64))
    modes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"mode", "at"}]
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(64))


class CreditReview(Base):
    """A supervisor's decision on a flagged credit; a reversal names its counter-entry."""

    __tablename__ = "credit_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_id: Mapped[int] = mapped_column(ForeignKey("credits.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))  # approved | reversed
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    note: Mapped[str | None] = mapped_column(Text)
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("credits.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
