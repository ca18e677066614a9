"""Headsets' reported state in the store (``headset_states``, one row per device): a report
(the JSON `hardware.headset.report.HeadsetState` sends; read here without importing the
headset, which the console may not) is saved over the last one, and read back for the API,
the devices page and the agent's desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Agent, Device, HeadsetStateRow, utcnow

#: A headset that has not reported for this long is shown as not connected.
CONNECTED_SECONDS = 30.0


#: The report's fields and their types (``type`` is "headset.state").
REPORT_FIELDS: dict[str, tuple[type, ...]] = {
    "extension": (str,), "device": (str,), "hook": (str,), "call": (str,), "muted": (bool,),
    "volume": (int,), "heard_dbfs": (int, float), "spoken_dbfs": (int, float),
    "playback_ms": (int, float), "capture_ms": (int, float), "underruns": (int,), "at": (str,),
}
CALL_STATES = ("idle", "ringing", "calling", "in_call")


@dataclass(frozen=True)
class HeadsetReport:
    extension: str
    device: str
    hook: str
    call: str
    muted: bool
    volume: int
    heard_dbfs: float
    spoken_dbfs: float
    playback_ms: float
    capture_ms: float
    underruns: int

    @classmethod
    def parse(cls, body: object) -> HeadsetReport:
        """A report, or ValueError saying what is wrong with it."""
        if not isinstance(body, dict) or body.get("type") != "headset.state":
            raise ValueError("not a headset.state report")
        fields = {k: v for k, v in body.items() if k != "type"}
        if set(fields) != set(REPORT_FIELDS):
            raise ValueError(f"fields must be {', '.join(sorted(REPORT_FIELDS))}")
        for name, kinds in REPORT_FIELDS.items():
            value = fields[name]
            if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                raise ValueError(f"{name} has the wrong type")
        if fields["call"] not in CALL_STATES or fields["hook"] not in ("on", "off"):
            raise ValueError(f"bad headset state: call={fields['call']!r} hook={fields['hook']!r}")
        fields.pop("at")
        return cls(**fields)


def save_report(session: Session, device: Device, state: HeadsetReport) -> HeadsetStateRow:
    row = session.get(HeadsetStateRow, device.id)
    if row is None:
        row = HeadsetStateRow(device_id=device.id)
        session.add(row)
    row.sound_device = state.device[:120]
    row.hook, row.call, row.muted = state.hook, state.call, bool(state.muted)
    row.volume = max(0, min(100, int(state.volume)))
    row.heard_dbfs, row.spoken_dbfs = float(state.heard_dbfs), float(state.spoken_dbfs)
    row.playback_ms, row.capture_ms = float(state.playback_ms), float(state.capture_ms)
    row.underruns = int(state.underruns)
    row.reported_at = utcnow()
    return row


@dataclass(frozen=True)
class HeadsetView:
    """What a person is shown of one headset."""

    extension: str
    agent: str  # the agent whose device it is, or ""
    sound_device: str
    hook: str
    call: str
    muted: bool
    volume: int
    heard_dbfs: float
    spoken_dbfs: float
    underruns: int
    reported_at: datetime
    connected: bool  # reported within CONNECTED_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension, "agent": self.agent, "connected": self.connected,
            "sound_device": self.sound_device, "hook": self.hook, "call": self.call,
            "muted": self.muted, "volume": self.volume, "heard_dbfs": self.heard_dbfs,
            "spoken_dbfs": self.spoken_dbfs, "underruns": self.underruns,
            "reported_at": self.reported_at.isoformat(timespec="seconds") + "Z",
        }


def _view(row: HeadsetStateRow, device: Device, agent: str | None,
          now: datetime) -> HeadsetView:
    return HeadsetView(
        extension=device.extension, agent=agent or "", sound_device=row.sound_device,
        hook=row.hook, call=row.call, muted=row.muted, volume=row.volume,
        heard_dbfs=row.heard_dbfs, spoken_dbfs=row.spoken_dbfs, underruns=row.underruns,
        reported_at=row.reported_at,
        connected=(now - row.reported_at).total_seconds() <= CONNECTED_SECONDS,
    )


def headset_views(session: Session, device_id: int | None = None) -> list[HeadsetView]:
    """Every reporting headset (or one device's), by extension."""
    query = (
        select(HeadsetStateRow, Device, Agent.name)
        .join(Device, Device.id == HeadsetStateRow.device_id)
        .outerjoin(Agent, Agent.device_id == Device.id)
        .order_by(Device.extension)
    )
    if device_id is not None:
        query = query.where(Device.id == device_id)
    now = utcnow()
    return [_view(row, device, agent, now) for row, device, agent in session.execute(query)]
