"""Levels of a leg's audio: meters of RMS and peak in dBFS (a full-scale sine is 0 dBFS), and
the ring buffer that hands the audio out in 20 ms frames."""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit

from dsp.clock import FRAME_MS

#: Level reported for digital silence, instead of minus infinity.
SILENCE_DBFS = -120.0
FULL_SCALE = 32768.0


def frame_size(clock_rate: int, frame_ms: int = FRAME_MS) -> int:
    """Samples in one frame: 160 at 8 kHz, 320 at 16 kHz for 20 ms."""
    return clock_rate * frame_ms // 1000


@njit(cache=True, nogil=True)
def frame_levels(frame: np.ndarray) -> tuple[float, float]:
    """(RMS, peak) of an int16 or float frame, both in dBFS (full-scale sine = 0 dBFS)."""
    energy = 0.0
    peak = 0.0
    for i in range(frame.shape[0]):
        value = float(frame[i])
        energy += value * value
        magnitude = abs(value)
        if magnitude > peak:
            peak = magnitude
    n = max(frame.shape[0], 1)
    rms = math.sqrt(energy / n) * math.sqrt(2.0)
    rms_db = 20.0 * math.log10(rms / FULL_SCALE) if rms > 0.0 else SILENCE_DBFS
    peak_db = 20.0 * math.log10(peak / FULL_SCALE) if peak > 0.0 else SILENCE_DBFS
    return max(rms_db, SILENCE_DBFS), max(peak_db, SILENCE_DBFS)


class LevelMeter:
    """Running level of a leg for a VU display: RMS with a smoothing time, peak with hold."""

    def __init__(self, clock_rate: int, smoothing_ms: float = 300.0, peak_hold_ms: float = 1500.0):
        self.clock_rate = clock_rate
        self.smoothing_ms = smoothing_ms
        self.peak_hold_ms = peak_hold_ms
        self.rms_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self._peak_age_ms = 0.0

    def update(self, frame: np.ndarray) -> tuple[float, float]:
        """Feed one frame; returns the smoothed RMS and the held peak, in dBFS."""
        rms, peak = frame_levels(np.ascontiguousarray(frame))
        frame_ms = 1000.0 * len(frame) / self.clock_rate
        weight = 1.0 - math.exp(-frame_ms / self.smoothing_ms)
        power = 10 ** (self.rms_dbfs / 10) + weight * (
            10 ** (rms / 10) - 10 ** (self.rms_dbfs / 10)
        )
        self.rms_dbfs = max(10 * math.log10(max(power, 1e-12)), SILENCE_DBFS)
        self._peak_age_ms += frame_ms
        if peak >= self.peak_dbfs or self._peak_age_ms > self.peak_hold_ms:
            self.peak_dbfs = peak
            self._peak_age_ms = 0.0
        return self.rms_dbfs, self.peak_dbfs


class FrameRing:
    """Bounded FIFO of int16 samples handed out as whole frames.

    A media callback pushes what it receives (any length) and returns at once; the DSP thread
    pops whole frames. When full, the oldest audio is dropped and counted in
    ``dropped_samples``: a slow consumer loses old audio, never blocks the media clock.
    """

    def __init__(self, frame_size: int, capacity_frames: int = 50) -> None:
        if frame_size <= 0 or capacity_frames <= 0:
            raise ValueError("frame size and capacity must be positive")
        self.frame_size = frame_size
        self.capacity = frame_size * capacity_frames
        self._buffer = np.zeros(self.capacity, dtype=np.int16)
        self._start = 0
        self._count = 0
        self._lock = threading.Lock()
        self.dropped_samples = 0

    def __len__(self) -> int:
        """Whole frames ready to pop."""
        return self._count // self.frame_size

    @property
    def buffered_samples(self) -> int:
        return self._count

    def push(self, samples: np.ndarray | bytes) -> None:
        if isinstance(samples, bytes | bytearray | memoryview):
            samples = np.frombuffer(samples, dtype="<i2")
        data = np.asarray(samples, dtype=np.int16)
        with self._lock:
            if data.shape[0] > self.capacity:
                self.dropped_samples += data.shape[0] - self.capacity
                data = data[-self.capacity :]
            overflow = self._count + data.shape[0] - self.capacity
            if overflow > 0:
                self._start = (self._start + overflow) % self.capacity
                self._count -= overflow
                self.dropped_samples += overflow
            end = (self._start + self._count) % self.capacity
            first = min(data.shape[0], self.capacity - end)
            self._buffer[end : end + first] = data[:first]
            self._buffer[: data.shape[0] - first] = data[first:]
            self._count += data.shape[0]

    def pop(self) -> np.ndarray | None:
        """The oldest whole frame (a copy), or None when less than a frame is buffered."""
        with self._lock:
            if self._count < self.frame_size:
                return None
            index = (self._start + np.arange(self.frame_size)) % self.capacity
            frame = self._buffer[index]
            self._start = (self._start + self.frame_size) % self.capacity
            self._count -= self.frame_size
            return frame

    def clear(self) -> None:
        with self._lock:
            self._start = 0
            self._count = 0
