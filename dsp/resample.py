"""Streaming resampling that keeps its state across frames: 8 <-> 16 kHz through a half-band
anti-alias FIR, and any rate to any rate with a ratio that may drift (`RatioResampler`: a
sound card's native rate to the telephone clock)."""

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


#: Zero crossings of the interpolation kernel on each side of a sample (its half-width).
RATIO_HALF_WIDTH = 12
#: Pass band as a share of the lower rate's Nyquist frequency (3.76 kHz of 8 kHz's 4 kHz), so
#: the kernel's transition band sits below the folding frequency.
RATIO_PASS_BAND = 0.94
#: Table points of the kernel per zero crossing (linear interpolation between them).
RATIO_TABLE_STEPS = 128


def ratio_kernel(half_width: int = RATIO_HALF_WIDTH, steps: int = RATIO_TABLE_STEPS,
                 beta: float = 8.0) -> np.ndarray:
    """Kaiser-windowed sinc sampled *steps* times per zero crossing, from 0 to *half_width*."""
    x = np.arange(half_width * steps + 2) / steps
    window = np.kaiser(2 * half_width * steps + 1, beta)[half_width * steps :]
    window = np.concatenate([window, [0.0]])
    table: np.ndarray = np.sinc(x) * window[: x.shape[0]]
    return table


@njit(cache=True, nogil=True)
def ratio_resample_into(
    buffer: np.ndarray,
    available: int,
    position: float,
    step: float,
    scale: float,
    table: np.ndarray,
    half_width: int,
    steps: int,
    out: np.ndarray,
) -> tuple[int, float]:
    """Interpolate *buffer[:available]* at positions *position*, *position* + *step*, ...
    into *out* while the kernel fits; returns (samples written, next position).

    *scale* <= 1 widens the kernel to low-pass at *scale* times the input's Nyquist frequency
    (down-sampling); the kernel spans ``half_width / scale`` input samples each side.
    """
    reach = int(half_width / scale) + 1
    written = 0
    while written < out.shape[0]:
        centre = int(position)
        if centre + reach >= available:
            break
        fraction = position - centre
        acc = 0.0
        for k in range(centre - reach + 1, centre + reach + 1):
            if k < 0:
                continue
            distance = abs((k - centre) - fraction) * scale
            if distance >= half_width:
                continue
            where = distance * steps
            index = int(where)
            weight = where - index
            acc += buffer[k] * (table[index] * (1.0 - weight) + table[index + 1] * weight)
        out[written] = acc * scale
        written += 1
        position += step
    return written, position


class RatioResampler:
    """Any rate to any rate with a ratio that may change while it runs (clock drift).

    ``ratio`` is output samples per input sample (48000/8000 = 6.0); `process` takes consecutive
    frames of int16 or float samples and returns what could be produced so far (float64), so
    the output length varies by a sample or so between calls. The delay is
    `RATIO_HALF_WIDTH` input samples (widened when down-sampling).
    """

    def __init__(self, ratio: float) -> None:
        if ratio <= 0:
            raise ValueError(f"resampling ratio must be positive, got {ratio}")
        self.nominal = ratio
        self.ratio = ratio
        self.table = ratio_kernel()
        self.scale = min(1.0, ratio) * (RATIO_PASS_BAND if ratio != 1.0 else 1.0)
        self.reach = int(RATIO_HALF_WIDTH / self.scale) + 1
        self.buffer = np.zeros(4 * self.reach + 4096)
        self.available = self.reach  # leading zeros stand for the past before the first frame
        self.position = float(self.reach)

    def set_correction(self, correction: float) -> None:
        """Run at ``nominal * (1 + correction)``; a correction of 1e-4 is 100 ppm faster."""
        self.ratio = self.nominal * (1.0 + correction)

    def process(self, frame: np.ndarray) -> np.ndarray:
        samples = np.asarray(frame, dtype=np.float64)
        needed = self.available + samples.shape[0]
        if needed > self.buffer.shape[0]:
            grown = np.zeros(2 * needed)
            grown[: self.available] = self.buffer[: self.available]
            self.buffer = grown
        self.buffer[self.available : needed] = samples
        self.available = needed
        step = 1.0 / self.ratio
        room = int((self.available - self.position) * self.ratio) + 2
        out = np.empty(max(room, 0))
        written, self.position = ratio_resample_into(
            self.buffer, self.available, self.position, step, self.scale, self.table,
            RATIO_HALF_WIDTH, RATIO_TABLE_STEPS, out,
        )
        # Keep only what the kernel still needs behind the next position.
        keep_from = max(int(self.position) - self.reach, 0)
        if keep_from:
            remaining = self.available - keep_from
            self.buffer[:remaining] = self.buffer[keep_from : self.available]
            self.available = remaining
            self.position -= keep_from
        return out[:written]
