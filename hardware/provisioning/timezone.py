"""A phone's time zone: an IANA name checked against the system database, with the offsets
every vendor's format needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimeZone(ValueError):
    """Not an IANA time zone name known to this system."""


@dataclass(frozen=True)
class TimeZone:
    name: str  # IANA, e.g. "Europe/Rome"
    standard_minutes: int  # offset east of UTC outside summer time
    summer_minutes: int  # offset east of UTC in summer time (equal when there is none)

    @classmethod
    def named(cls, name: str) -> TimeZone:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise UnknownTimeZone(f"unknown time zone {name!r}: use an IANA name") from error
        offsets = []
        for month in (1, 7):
            delta = datetime(2024, month, 15, 12, tzinfo=zone).utcoffset()
            offsets.append(int(delta.total_seconds() // 60) if delta is not None else 0)
        return cls(name, min(offsets), max(offsets))

    @property
    def has_summer_time(self) -> bool:
        return self.summer_minutes != self.standard_minutes

    def posix_rule(self) -> str:
        """The POSIX TZ rule (e.g. ``CET-1CEST,M3.5.0,M10.5.0/3``) from the zone file's footer,
        or a fixed ``<GMT+hh:mm>`` rule when the system has no such footer."""
        for root in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo"):
            path = Path(root) / self.name
            if ".." not in self.name and path.is_file():
                footer = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
                if footer and footer.isascii() and b"\0" not in footer:
                    return footer.decode()
        hours, minutes = divmod(abs(self.standard_minutes), 60)
        sign = "-" if self.standard_minutes >= 0 else "+"  # POSIX counts west positive
        return f"<{self.gmt_label()}>{sign}{hours}:{minutes:02d}"

    def gmt_label(self) -> str:
        """``GMT+01:00`` / ``GMT-05:00`` for the standard offset."""
        sign = "+" if self.standard_minutes >= 0 else "-"
        hours, minutes = divmod(abs(self.standard_minutes), 60)
        return f"GMT{sign}{hours:02d}:{minutes:02d}"

    def hours_label(self) -> str:
        """``+1`` / ``-5`` / ``+5.5`` for the standard offset."""
        hours = self.standard_minutes / 60
        text = f"{hours:+g}"
        return text
