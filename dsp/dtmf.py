"""In-band DTMF: a streaming Goertzel receiver that turns 20 ms frames into key press and
release events, and a generator of DTMF signals for tests and benchmarks.

Each 10 ms the receiver looks at the last 20 ms through a Hann window. For every one of the
eight DTMF frequencies a Goertzel filter gives the tone's power, and two Goertzel filters on
overlapping sub-windows 5 ms apart give its phase advance, hence the tone's real frequency.
A window holds a digit when one row and one column tone are loud enough, carry most of the
window's power, lie within the frequency tolerance and respect the twist limits. A key is
pressed after three such windows of steady power (about 35 ms of tone), released after two
windows where its tones are gone (so a 40 ms pause always separates two presses). A window
that still carries the pressed key's two tones at nearly their level but fails the frequency
test is no evidence either way: a jitter buffer that drops or repeats part of a frame steps the
tone's phase, and the two windows over that step used to end the press and start it again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numba import njit

from dsp.clock import CLOCK_RATE

ROW_HZ = (697.0, 770.0, 852.0, 941.0)
COLUMN_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
DIGITS = "".join(KEYPAD)
FULL_SCALE = 32768.0


def tone_pair(digit: str) -> tuple[float, float]:
    """(row, column) frequencies in Hz of a DTMF digit."""
    for row, keys in enumerate(KEYPAD):
        column = keys.find(digit.upper())
        if column >= 0:
            return ROW_HZ[row], COLUMN_HZ[column]
    raise ValueError(f"not a DTMF digit: {digit!r}")


def dtmf_signal(
    digits: str,
    clock_rate: int = CLOCK_RATE,
    tone_ms: float = 80.0,
    pause_ms: float = 80.0,
    level_dbfs: float = -10.0,
    twist_db: float = 0.0,
    row_offset: float = 0.0,
    column_offset: float = 0.0,
    lead_ms: float = 0.0,
) -> np.ndarray:
    """int16 samples of *digits* keyed one after another.

    ``level_dbfs`` is the row (low) tone's level (a full-scale sine is 0 dBFS); the column
    (high) tone is ``twist_db`` louder (negative: normal twist, positive: reverse twist).
    Offsets are relative frequency errors (0.02 = 2 % high). Each digit is followed by
    ``pause_ms`` of silence; ``lead_ms`` of silence comes first.
    """
    pieces = [np.zeros(round(lead_ms * clock_rate / 1000))]
    tone_len = round(tone_ms * clock_rate / 1000)
    t = np.arange(tone_len) / clock_rate
    row_amplitude = FULL_SCALE * 10 ** (level_dbfs / 20)
    column_amplitude = row_amplitude * 10 ** (twist_db / 20)
    for digit in digits:
        row, column = tone_pair(digit)
        pieces.append(
            row_amplitude * np.sin(2 * np.pi * row * (1 + row_offset) * t)
            + column_amplitude * np.sin(2 * np.pi * column * (1 + column_offset) * t)
        )
        pieces.append(np.zeros(round(pause_ms * clock_rate / 1000)))
    signal = np.concatenate(pieces)
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


@njit(cache=True, nogil=True)
def _goertzel(x: np.ndarray, start: int, window: np.ndarray, omega: float) -> complex:
    """DFT of x[start:start+len(window)] * window at angular frequency omega (rad/sample)."""
    coefficient = 2.0 * math.cos(omega)
    s1 = 0.0
    s2 = 0.0
    n = window.shape[0]
    for i in range(n):
        s0 = x[start + i] * window[i] + coefficient * s1 - s2
        s2 = s1
        s1 = s0
    # X = e^{-j w (N-1)} (s[N-1] - e^{-j w} s[N-2])
    y = complex(s1 - math.cos(omega) * s2, math.sin(omega) * s2)
    return y * complex(math.cos(omega * (n - 1)), -math.sin(omega * (n - 1)))


@njit(cache=True, nogil=True)
def _goertzel_bank_power(
    x: np.ndarray, start: int, window: np.ndarray, coefficients: np.ndarray, power: np.ndarray
) -> float:
    """|DFT|^2 at every frequency of the bank at once (independent recurrences run side by
    side, which keeps the CPU's pipelines full); returns the windowed frame's energy."""
    bank = coefficients.shape[0]
    s1 = np.zeros(bank)
    s2 = np.zeros(bank)
    energy = 0.0
    for i in range(window.shape[0]):
        v = x[start + i] * window[i]
        energy += v * v
        for k in range(bank):
            s0 = v + coefficients[k] * s1[k] - s2[k]
            s2[k] = s1[k]
            s1[k] = s0
    for k in range(bank):
        power[k] = s1[k] * s1[k] + s2[k] * s2[k] - coefficients[k] * s1[k] * s2[k]
    return energy


@njit(cache=True, nogil=True)
def analyse_windows(
    samples: np.ndarray,
    hop: int,
    window: np.ndarray,
    sub_window: np.ndarray,
    lag: int,
    omegas: np.ndarray,
    limits: np.ndarray,
    digit_out: np.ndarray,
    pair_out: np.ndarray,
    power_out: np.ndarray,
) -> int:
    """Classify every complete window of *samples* (float64) taken each *hop* samples.

    For each window writes the digit index 0..15 (or -1), the index of the strongest row and
    column pair (a digit or not) and the two tones' power.
    limits = [min tone power, min purity, max relative frequency error,
              max normal twist (row over column, power ratio),
              max reverse twist (column over row, power ratio)].
    Returns the number of windows analysed.
    """
    length = window.shape[0]
    count = 0
    full_gain = 0.0
    energy_gain = 0.0
    for i in range(length):
        full_gain += window[i]
        energy_gain += window[i] * window[i]
    power = np.empty(8)
    offset = np.empty(8)
    coefficients = 2.0 * np.cos(omegas)
    start = 0
    while start + length <= samples.shape[0]:
        total = _goertzel_bank_power(samples, start, window, coefficients, power) / energy_gain
        for k in range(8):
            power[k] *= 2.0 / (full_gain * full_gain)
        row = 0
        for k in range(1, 4):
            if power[k] > power[row]:
                row = k
        column = 4
        for k in range(5, 8):
            if power[k] > power[column]:
                column = k
        tone_power = power[row] + power[column]
        digit = -1
        if (
            power[row] >= limits[0]
            and power[column] >= limits[0]
            and tone_power >= limits[1] * total
            and power[row] <= power[column] * limits[3]
            and power[column] <= power[row] * limits[4]
        ):
            # only now measure the two tones' real frequencies (phase advance over `lag`)
            for k in (row, column):
                early = _goertzel(samples, start, sub_window, omegas[k])
                late = _goertzel(samples, start + lag, sub_window, omegas[k])
                advance = late * early.conjugate()
                phase = math.atan2(advance.imag, advance.real) - omegas[k] * lag
                phase = (phase + math.pi) % (2.0 * math.pi) - math.pi
                offset[k] = phase / (omegas[k] * lag)  # relative frequency error
            if abs(offset[row]) <= limits[2] and abs(offset[column]) <= limits[2]:
                digit = row * 4 + (column - 4)
        digit_out[count] = digit
        pair_out[count] = row * 4 + (column - 4)
        power_out[count] = tone_power
        count += 1
        start += hop
    return count


@dataclass(frozen=True)
class DtmfEvent:
    """A key going down ("start") or up ("end"); times in seconds since the stream began."""

    digit: str
    kind: Literal["start", "end"]
    at: float
    duration: float | None = None


@dataclass
class DtmfSettings:
    """Receiver limits; the defaults follow the usual telephony requirements."""

    min_level_dbfs: float = -36.0  # per tone
    frequency_tolerance: float = 0.025  # accept 1.5 %, reject 3.5 %: decide half-way
    normal_twist_db: float = 8.0  # low (row) tone louder: the line loses the high group
    reverse_twist_db: float = 4.0  # high (column) tone louder
    min_purity: float = 0.75  # share of the window's power in the two tones
    windows_to_press: int = 3
    windows_to_release: int = 2
    steady_db: float = 3.0  # power spread allowed over the pressing windows
    held_drop_db: float = 10.0  # the pressed key's tones this far below their level: gone

    def limits(self) -> np.ndarray:
        min_power = (FULL_SCALE * 10 ** (self.min_level_dbfs / 20)) ** 2 / 2
        return np.array(
            [
                min_power,
                self.min_purity,
                self.frequency_tolerance,
                10 ** (self.normal_twist_db / 10),
                10 ** (self.reverse_twist_db / 10),
            ]
        )


@dataclass
class DtmfDetector:
    """Streaming DTMF receiver for one leg: feed frames (int16, any length), get events."""

    clock_rate: int = CLOCK_RATE
    settings: DtmfSettings = field(default_factory=DtmfSettings)

    def __post_init__(self) -> None:
        self.hop = self.clock_rate // 100  # 10 ms
        length = 2 * self.hop  # 20 ms analysis window
        self.lag = length // 4  # 5 ms between the two phase sub-windows
        self.window = np.hanning(length + 2)[1:-1]
        self.sub_window = np.hanning(length - self.lag + 2)[1:-1]
        self.omegas = 2 * np.pi * np.array(ROW_HZ + COLUMN_HZ) / self.clock_rate
        self.limits = self.settings.limits()
        self._pending = np.zeros(0)
        self._consumed = 0  # samples before _pending[0]
        self._recent: list[tuple[int, float]] = []
        self._pressed: str | None = None
        self._pressed_at = 0.0
        self._misses = 0
        self._last_hit_end = 0.0
        self._held_power = 0.0  # the pressed key's tone power in its last clean window

    def process(self, frame: np.ndarray) -> list[DtmfEvent]:
        """Feed consecutive audio; returns the key events completed by it, oldest first."""
        samples = np.concatenate([self._pending, np.asarray(frame, dtype=np.float64)])
        room = max((samples.shape[0] - len(self.window)) // self.hop + 1, 0)
        digits = np.empty(room, dtype=np.int64)
        pairs = np.empty(room, dtype=np.int64)
        powers = np.empty(room)
        count = analyse_windows(
            samples,
            self.hop,
            self.window,
            self.sub_window,
            self.lag,
            self.omegas,
            self.limits,
            digits,
            pairs,
            powers,
        )
        events: list[DtmfEvent] = []
        for i in range(count):
            start = (self._consumed + i * self.hop) / self.clock_rate
            self._decide(int(digits[i]), int(pairs[i]), float(powers[i]), start, events)
        self._pending = samples[count * self.hop :]
        self._consumed += count * self.hop
        return events

    def _decide(
        self, digit: int, pair: int, power: float, start: float, events: list[DtmfEvent]
    ) -> None:
        quarter = len(self.window) / 4 / self.clock_rate
        window_end = start + len(self.window) / self.clock_rate
        if self._pressed is not None:
            if digit >= 0 and DIGITS[digit] == self._pressed:
                self._misses = 0
                self._last_hit_end = window_end
                self._held_power = power
                return
            if digit < 0 and DIGITS[pair] == self._pressed and power >= self._held_floor():
                return  # the key's tones are still there, only their phase stepped
            self._misses += 1
            if self._misses < self.settings.windows_to_release:
                return
            end = self._last_hit_end - quarter
            events.append(DtmfEvent(self._pressed, "end", end, duration=end - self._pressed_at))
            self._pressed = None
            self._recent.clear()
        if digit < 0:
            self._recent.clear()
            return
        if self._recent and self._recent[-1][0] != digit:
            self._recent.clear()
        self._recent.append((digit, power))
        needed = self.settings.windows_to_press
        if len(self._recent) > needed:
            self._recent.pop(0)
        if len(self._recent) < needed:
            return
        strongest = max(p for _, p in self._recent)
        weakest = min(p for _, p in self._recent)
        if strongest > weakest * 10 ** (self.settings.steady_db / 10):
            return
        self._pressed = DIGITS[digit]
        self._held_power = power
        self._pressed_at = start - (needed - 1) * self.hop / self.clock_rate + quarter
        self._misses = 0
        self._last_hit_end = window_end
        events.append(DtmfEvent(self._pressed, "start", self._pressed_at))

    def _held_floor(self) -> float:
        return self._held_power * 10 ** (-self.settings.held_drop_db / 10)

    def digits(self, frames: list[np.ndarray] | np.ndarray) -> str:
        """Convenience: the digits pressed in a whole signal (or list of frames)."""
        if isinstance(frames, np.ndarray):
            size = self.clock_rate // 50
            frames = [frames[i : i + size] for i in range(0, len(frames), size)]
        pressed = [e.digit for f in frames for e in self.process(f) if e.kind == "start"]
        return "".join(pressed)
