"""Streaming 8 <-> 16 kHz resampling through a half-band anti-alias FIR that keeps its state
across 20 ms frames."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Taps of the half-band low-pass (odd, so the centre tap is 0.5 and every other tap is zero).
HALF_BAND_TAPS = 79
#: Kaiser window shape: about 70 dB stopband for the taps above.
KAISER_BETA = 7.0


def half_band_lowpass(taps: int = HALF_BAND_TAPS, beta: float = KAISER_BETA) -> np.ndarray:
    """Kaiser-windowed sinc with its cut-off at a quarter of the high rate (4 kHz at 16 kHz)."""
    if taps % 4 != 3:
        raise ValueError("a half-band filter needs 4k+3 taps so that both ends are non-zero")
    n = np.arange(taps) - (taps - 1) / 2
    ideal = 0.5 * np.sinc(n / 2)
    coefficients = ideal * np.kaiser(taps, beta)
    normalised: np.ndarray = coefficients / coefficients.sum()
    return normalised


@njit(cache=True, nogil=True)
def upsample_into(
    frame: np.ndarray, history: np.ndarray, taps: np.ndarray, out: np.ndarray
) -> None:
    """Double the rate of *frame* (float64); *history* holds the last low-rate inputs."""
    keep = history.shape[0]
    n = frame.shape[0]
    buffer = np.empty(keep + n)
    buffer[:keep] = history
    buffer[keep:] = frame
    # zero-stuffed input x2[2m] = 2 * x[m]; y[j] = sum_k h[k] x2[j - k]
    length = taps.shape[0]
    for j in range(2 * n):
        # high-rate index j of this frame corresponds to buffer position (keep * 2 + j)
        top = 2 * keep + j
        acc = 0.0
        start = top & 1  # taps that land on even (non-zero) high-rate samples
        for k in range(start, length, 2):
            position = top - k
            acc += taps[k] * buffer[position >> 1]
        out[j] = 2.0 * acc
    history[:] = buffer[n:]


@njit(cache=True, nogil=True)
def downsample_into(
    frame: np.ndarray, history: np.ndarray, taps: np.ndarray, out: np.ndarray
) -> None:
    """Halve the rate of *frame* (float64, even length); *history* holds the last inputs."""
    keep = history.shape[0]
    n = frame.shape[0]
    buffer = np.empty(keep + n)
    buffer[:keep] = history
    buffer[keep:] = frame
    length = taps.shape[0]
    for m in range(n // 2):
        top = keep + 2 * m
        acc = 0.0
        for k in range(length):
            acc += taps[k] * buffer[top - k]
        out[m] = acc
    history[:] = buffer[n:]


class Resampler:
    """One direction of one stream, 8 -> 16 kHz or 16 -> 8 kHz; feed it consecutive frames.

    Frames are int16 (returned as int16, rounded and saturated) or float (returned as float64).
    The filter delays the signal by ``delay_samples`` at the output rate.
    """

    def __init__(self, from_rate: int, to_rate: int, taps: np.ndarray | None = None) -> None:
        if (from_rate, to_rate) not in ((8000, 16000), (16000, 8000)):
            raise ValueError(f"unsupported resampling {from_rate} -> {to_rate} Hz")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.taps = half_band_lowpass() if taps is None else np.asarray(taps, dtype=np.float64)
        self.upsampling = to_rate > from_rate
        keep = (self.taps.shape[0] + 1) // 2 if self.upsampling else self.taps.shape[0]
        self.history = np.zeros(keep, dtype=np.float64)
        delay = (self.taps.shape[0] - 1) / 2
        self.delay_samples = delay if self.upsampling else delay / 2

    def process(self, frame: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(frame, dtype=np.float64)
        if self.upsampling:
            out = np.empty(2 * samples.shape[0])
            upsample_into(samples, self.history, self.taps, out)
        else:
            if samples.shape[0] % 2:
                raise ValueError("16 kHz frames must have an even number of samples")
            out = np.empty(samples.shape[0] // 2)
            downsample_into(samples, self.history, self.taps, out)
        if np.asarray(frame).dtype == np.int16:
            return np.clip(np.rint(out), -32768, 32767).astype(np.int16)
        return out

    def reset(self) -> None:
        self.history[:] = 0.0
