"""The hardware's tables: how each desk phone is provisioned and which file it fetched, the
NOTIFYs the switch owes desk phones, and the headsets' reported state (issue 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow

# --- hardware: desk-phone provisioning and headset state (issue 12) ---------------------------


class DeviceProvisioning(Base):
    """How a desk phone is provisioned: which generation of derived credentials it holds (the
    SIP password is derived from the provisioning key in var/ and never stored, see
    docs/security-hardware.md), the pending HA1 of a rotation not yet fetched, and which
    version of its configuration it confirmed by fetching it."""

    __tablename__ = "device_provisioning"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    pending_ha1: Mapped[str | None] = mapped_column(String(128))
    pending_ha1b: Mapped[str | None] = mapped_column(String(128))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    line_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    config_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    applied_version: Mapped[int | None] = mapped_column(Integer)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)


class ProvisioningFetch(Base):
    """One request of a phone for a provisioning file, answered or refused."""

    __tablename__ = "provisioning_fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(12), index=True)  # as asked for; "" when malformed
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    file_name: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    config_version: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class HeadsetStateRow(Base):
    """The last state a headset reported (hardware.headset.report.HeadsetState)."""

    __tablename__ = "headset_states"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    sound_device: Mapped[str] = mapped_column(String(120), default="")
    hook: Mapped[str] = mapped_column(String(8), default="on")
    call: Mapped[str] = mapped_column(String(16), default="idle")
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    volume: Mapped[int] = mapped_column(Integer, default=100)
    heard_dbfs: Mapped[float] = mapped_column(Float, default=-120.0)
    spoken_dbfs: Mapped[float] = mapped_column(Float, default=-120.0)
    playback_ms: Mapped[float] = mapped_column(Float, default=0.0)
    capture_ms: Mapped[float] = mapped_column(Float, default=0.0)
    underruns: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)




# --- desk phones driven by the switch (issue 12, part 2) --------------------------------------


class PhoneCommand(Base):
    """A NOTIFY the switch owes a desk phone (``kind``: check-sync, reboot, mwi), queued by the
    console or the admin service and sent by the edge (telephony/phone_control.py); it waits
    (``held``) while the phone is on a call. States: queued, held, sent, failed."""

    __tablename__ = "phone_commands"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    config_version: Mapped[int | None] = mapped_column(Integer)
    answer_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
