"""The jitter buffer between two clocks: a FIFO of 8 kHz samples that one clock fills and the
other drains, primed to a target depth before it plays and re-primed after an underrun.

Its depth is the latency it adds; the drift controller keeps that depth at the target while the
two clocks disagree. Thread-safe: pjmedia's clock thread and PortAudio's callback use it.
"""

from __future__ import annotations

import threading

import numpy as np


class JitterBuffer:
    def __init__(self, target: int, capacity: int) -> None:
        if not 0 < target < capacity:
            raise ValueError(f"target {target} must be positive and below capacity {capacity}")
        self.target = target
        self.capacity = capacity
        self._samples = np.zeros(capacity, dtype=np.float64)
        self._start = 0
        self._fill = 0
        self._primed = False
        self._lock = threading.Lock()
        self.underruns = 0  # pulls that found too little and played silence
        self.overflows = 0  # pushes that found no room and dropped the oldest samples
        self.dropped = 0  # samples dropped on overflow or trimmed
        self.trims = 0  # times a stall's backlog was cut back to the target
        self.pushed = 0
        self.pulled = 0

    @property
    def fill(self) -> int:
        return self._fill

    @property
    def primed(self) -> bool:
        return self._primed

    def push(self, samples: np.ndarray) -> None:
        n = samples.shape[0]
        if n == 0:
            return
        with self._lock:
            self.pushed += n
            if n > self.capacity:
                samples = samples[-self.capacity :]
                n = self.capacity
            excess = self._fill + n - self.capacity
            if excess > 0:  # the drainer stopped or fell far behind: keep the newest audio
                self.overflows += 1
                self.dropped += excess
                self._start = (self._start + excess) % self.capacity
                self._fill -= excess
            end = (self._start + self._fill) % self.capacity
            first = min(n, self.capacity - end)
            self._samples[end : end + first] = samples[:first]
            self._samples[: n - first] = samples[first:]
            self._fill += n
            if not self._primed and self._fill >= self.target:
                self._primed = True

    def pull(self, n: int) -> np.ndarray:
        """*n* samples; silence while priming, and silence plus re-priming on an underrun."""
        out = np.zeros(n, dtype=np.float64)
        with self._lock:
            if not self._primed:
                return out
            if self._fill < n:
                self.underruns += 1
                self._primed = False
                n = self._fill  # play what is left, then silence
            first = min(n, self.capacity - self._start)
            out[:first] = self._samples[self._start : self._start + first]
            out[first:n] = self._samples[: n - first]
            self._start = (self._start + n) % self.capacity
            self._fill -= n
            self.pulled += n
        return out

    def stretch(self, n: int) -> None:
        """Deepen by *n* samples at once, repeating the newest *n* (silence if there are fewer):
        a repeated stretch of voice or tone is a smaller blemish than a gap of silence."""
        with self._lock:
            if 0 < n <= self._fill:
                newest = (self._start + self._fill - n) % self.capacity
                idx = (newest + np.arange(n)) % self.capacity
                again = self._samples[idx].copy()
            else:
                again = np.zeros(max(n, 0), dtype=np.float64)
        self.push(again)

    def trim(self, keep: int) -> int:
        """Drop the oldest samples down to *keep* (a stall left too much latency behind);
        returns how many were dropped."""
        with self._lock:
            excess = self._fill - keep
            if excess <= 0:
                return 0
            self._start = (self._start + excess) % self.capacity
            self._fill = keep
            self.dropped += excess
            self.trims += 1
            return excess

    def clear(self) -> None:
        with self._lock:
            self._start = 0
            self._fill = 0
            self._primed = False
