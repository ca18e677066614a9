"""The ring tone an agent hears for an incoming call: 425 Hz, one second on and four off (the
European ring cadence), generated at the playing device's own rate."""

from __future__ import annotations

import math

import numpy as np

RING_HZ = 425.0
ON_SECONDS, PERIOD_SECONDS = 1.0, 5.0
RING_LEVEL = 0.25  # of full scale: audible in a headset, not painful


class RingTone:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._sample = 0

    def reset(self) -> None:
        self._sample = 0

    def next(self, n: int) -> np.ndarray:
        """The next *n* samples (float, full scale 32768)."""
        index = self._sample + np.arange(n)
        self._sample += n
        seconds = index / self.rate
        on = (seconds % PERIOD_SECONDS) < ON_SECONDS
        tone = np.sin(2.0 * math.pi * RING_HZ * seconds) * (RING_LEVEL * 32767.0)
        out: np.ndarray = np.where(on, tone, 0.0)
        return out
