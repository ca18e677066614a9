"""The post-call survey's and coaching's tables: one row per surveyed call (answered or
skipped), one per moment of a call a supervisor marked for its agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow


class CallSurvey(Base):
    """The survey asked after one call: the score (1..5), whether it was solved, and how the
    caller answered (``key`` or ``voice``); no answer at all is a skipped survey, which still
    counts for the customer's frequency cap."""

    __tablename__ = "call_surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    caller: Mapped[str] = mapped_column(String(200), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(8))
    asked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)


class CoachingMark(Base):
    """A moment of a call a supervisor marked as an example for its agent: the transcript
    line (by its index in ``calls.transcript``), its words as they were, and the note."""

    __tablename__ = "coaching_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    line: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    words: Mapped[str] = mapped_column(String(2000))
    note: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
