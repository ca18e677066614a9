"""The tables of every call's analysis (migration 0008): its measures and its extractive summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow


class CallAnalytics(Base):
    """What was measured on one ended call (definitions in docs/analytics.md)."""

    __tablename__ = "call_analytics"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    analysed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    handle_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    caller_talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    agent_talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: the agent's share of the talk time, 0..1 (None: nobody spoke)
    agent_talk_ratio: Mapped[float | None] = mapped_column(Float)
    non_talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    caller_interruptions: Mapped[int] = mapped_column(Integer, default=0)
    agent_interruptions: Mapped[int] = mapped_column(Integer, default=0)
    long_silences: Mapped[int] = mapped_column(Integer, default=0)
    longest_silence_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    seconds_to_human: Mapped[float | None] = mapped_column(Float)
    mood_start: Mapped[float | None] = mapped_column(Float)
    mood_end: Mapped[float | None] = mapped_column(Float)
    asked_twice: Mapped[int] = mapped_column(Integer, default=0)
    empathy_phrases: Mapped[int] = mapped_column(Integer, default=0)
    courtesy_phrases: Mapped[int] = mapped_column(Integer, default=0)
    #: the lists behind the counts: interruptions, silences, phrases, mood points, repeats
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: seconds of CPU the analysis took (the benchmark reads it)
    cpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class CallSummary(Base):
    """The extractive summary of one call: the caller's reason and what the agent did."""

    __tablename__ = "call_summaries"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    written_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["CallAnalytics", "CallSummary"]
