"""Conference-bridge wiring: two legs talking to each other, and what we send into one leg.

Everything a leg hears goes through `feed`, which also feeds that leg's out-tap, so the DSP
sees exactly what the far end was sent (the echo canceller's reference).
"""

from __future__ import annotations

import contextlib

import pjsua2 as pj

from telephony.leg import Leg
from telephony.tap import OUT


def feed(source: pj.AudioMedia, leg: Leg) -> None:
    """Send *source* into *leg* (and its out-tap)."""
    if leg.media is None:
        return
    source.startTransmit(leg.media)
    if OUT in leg.taps:
        source.startTransmit(leg.taps[OUT])


def unfeed(source: pj.AudioMedia, leg: Leg) -> None:
    with contextlib.suppress(pj.Error):
        if leg.media is not None:
            source.stopTransmit(leg.media)
        if OUT in leg.taps:
            source.stopTransmit(leg.taps[OUT])


class Bridge:
    """Two legs in conversation; `refresh` re-wires them after any media or hold change."""

    def __init__(self, a: Leg, b: Leg) -> None:
        self.a = a
        self.b = b
        self.connected = False

    def legs(self) -> tuple[Leg, Leg]:
        return self.a, self.b

    def can_talk(self) -> bool:
        return all(leg.audio_ready and not leg.on_hold for leg in (self.a, self.b))

    def connect(self) -> bool:
        if not self.can_talk():
            return False
        assert self.a.media is not None and self.b.media is not None
        feed(self.a.media, self.b)
        feed(self.b.media, self.a)
        self.connected = True
        return True

    def disconnect(self) -> None:
        if not self.connected:
            return
        self.connected = False
        if self.a.media is not None:
            unfeed(self.a.media, self.b)
        if self.b.media is not None:
            unfeed(self.b.media, self.a)

    def refresh(self) -> bool:
        """Reconnect after a media update; returns whether the legs now hear each other."""
        self.disconnect()
        return self.connect()
