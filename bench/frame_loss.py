"""Lost frames and glitches of a steady tone heard over a call: a least-squares sinusoid fit
per 20 ms frame, its amplitude, phase steps and residual against the call's typical frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.clock import CLOCK_RATE, SAMPLES_PER_FRAME

RATE = CLOCK_RATE
FRAME = SAMPLES_PER_FRAME  # samples in a 20 ms frame
TRIM_FRAMES = 25  # ignore the tone's first and last 500 ms (start-up, hang-up)
LOST_LEVEL = 0.5  # a frame whose tone amplitude is below half the call's typical one is lost
GLITCH_PHASE = 0.35  # radians of unexpected phase step between frames (about 20°)
GLITCH_RESIDUAL = 0.05  # share of a frame's energy that is not the tone (-13 dB)


@dataclass
class FrameCheck:
    frames: int = 0
    lost: int = 0
    glitches: int = 0

    def add(self, other: FrameCheck) -> None:
        self.frames += other.frames
        self.lost += other.lost
        self.glitches += other.glitches


def tone_fit(samples: np.ndarray, freq: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 20 ms frame: amplitude, phase (against absolute time) and the residual's energy share
    of a least-squares fit of one sinusoid at *freq*."""
    count = len(samples) // FRAME
    x = samples[: count * FRAME].astype(np.float64).reshape(count, FRAME)
    n = np.arange(count * FRAME, dtype=np.float64).reshape(count, FRAME)
    c, s = np.cos(2 * np.pi * freq * n / RATE), np.sin(2 * np.pi * freq * n / RATE)
    scc, sss, scs = (c * c).sum(1), (s * s).sum(1), (c * s).sum(1)
    sxc, sxs = (x * c).sum(1), (x * s).sum(1)
    det = scc * sss - scs * scs
    a, b = (sxc * sss - sxs * scs) / det, (sxs * scc - sxc * scs) / det
    residual = ((x - a[:, None] * c - b[:, None] * s) ** 2).sum(1)
    energy = np.maximum((x * x).sum(1), 1e-9)
    return np.hypot(a, b), np.arctan2(b, a), residual / energy


def check_frames(samples: np.ndarray, freq: float, trim: int = TRIM_FRAMES) -> FrameCheck:
    """Lost frames and glitches of a looping tone heard over a call (see module docstring)."""
    if len(samples) < FRAME * (2 * trim + 2):
        return FrameCheck()
    amplitude, phase, residual = tone_fit(samples, freq)
    typical = float(np.percentile(amplitude, 90))
    on = np.flatnonzero(amplitude > LOST_LEVEL * typical)
    if typical <= 0 or len(on) < 2 * trim + 2:
        return FrameCheck()
    span = slice(int(on[0]) + trim, int(on[-1]) + 1 - trim)
    amp, ph, res = amplitude[span], phase[span], residual[span]
    lost = amp < LOST_LEVEL * typical
    step = np.abs(np.angle(np.exp(1j * np.diff(ph))))
    jump = np.concatenate([[False], (step > GLITCH_PHASE) & ~lost[1:] & ~lost[:-1]])
    glitch = ~lost & (jump | (res > GLITCH_RESIDUAL))
    return FrameCheck(len(amp), int(lost.sum()), int(glitch.sum()))


def check_recording(path: str, freq: float) -> FrameCheck:
    from telephony.testing.audio import recording

    return check_frames(recording(path, timeout=5.0), freq)
