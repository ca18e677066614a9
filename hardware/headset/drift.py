"""Drift compensation between the sound card's clock and pjmedia's: a PI controller that reads a
jitter buffer's depth and answers with a tiny resampling correction.

Two clocks never agree (100 ppm apart is 0.36 s an hour). The buffer between them would fill
or empty by that much; instead its depth, smoothed over a few seconds, is held at the target
by running the resampler a few ppm faster or slower. The loop is critically damped with a time
constant of about 20 s, and the correction is clamped well below audibility (0.2 %).
"""

from __future__ import annotations

import math

#: Largest correction: 2000 ppm (3.5 cents of pitch), far above any real crystal's error.
MAX_CORRECTION = 2e-3
#: Natural frequency of the loop (rad/s): it settles in tens of seconds.
NATURAL_FREQUENCY = 0.05
#: Smoothing of the measured depth (s): longer than any device or network burst.
SMOOTHING_SECONDS = 2.0


class DriftController:
    """``update(fill, now)`` -> correction to apply to the resampler that drains (or fills)
    the buffer: positive means "too deep, move faster"."""

    def __init__(self, target: float, rate: float, natural_frequency: float = NATURAL_FREQUENCY,
                 smoothing_seconds: float = SMOOTHING_SECONDS,
                 max_correction: float = MAX_CORRECTION) -> None:
        self.target = target
        self.rate = rate  # samples per second of the buffer
        self.kp = 2.0 * natural_frequency  # critical damping
        self.ki = natural_frequency**2
        self.smoothing = smoothing_seconds
        self.max_correction = max_correction
        self.depth = float(target)  # smoothed depth in samples
        self.integral = 0.0  # seconds x seconds of depth error
        self.correction = 0.0
        self._last: float | None = None

    def reset(self) -> None:
        self.depth = float(self.target)
        self.integral = 0.0
        self._last = None

    def update(self, fill: float, now: float) -> float:
        if self._last is None:
            # The buffer was just primed to the target: that is its depth. The first reading
            # (taken after the drainer's first pull, a period or two) would start the smoothed
            # depth near zero, report seconds of false shallowness and steer the wrong way.
            self._last = now
            self.depth = float(self.target)
            return self.correction
        dt = now - self._last
        self._last = now
        if dt <= 0:
            return self.correction
        weight = 1.0 - math.exp(-dt / self.smoothing)
        self.depth += weight * (fill - self.depth)
        error = (self.depth - self.target) / self.rate  # seconds of audio too many
        self.integral += error * dt
        limit = self.max_correction / self.ki  # anti-windup: the integral alone stays in range
        self.integral = min(max(self.integral, -limit), limit)
        correction = self.kp * error + self.ki * self.integral
        self.correction = min(max(correction, -self.max_correction), self.max_correction)
        return self.correction
