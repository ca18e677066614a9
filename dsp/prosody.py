"""Prosody of a caller's utterances: pitch (f0) track, energy, speaking rate, and their change
against the caller's own first seconds of speech — the raw material of "getting upset" alerts.

Pitch is found YIN-style (cumulative mean normalised difference) every 10 ms over 25 ms, so it
works on telephone audio whose fundamental is filtered away. The speaking-rate proxy counts
syllable nuclei: peaks of the smoothed energy envelope in voiced stretches, at least 3 dB above
the dip before them and 100 ms apart, per second of speech.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

HOP_MS = 10
WINDOW_MS = 25
MIN_F0_HZ = 60.0
MAX_F0_HZ = 400.0
YIN_THRESHOLD = 0.2
#: Frames quieter than this many dB below the utterance's loudest frame are not speech.
ACTIVE_RANGE_DB = 30.0
NUCLEUS_PROMINENCE_DB = 3.0
NUCLEUS_SPACING_MS = 100


@njit(cache=True, nogil=True)
def pitch_track_into(
    x: np.ndarray,
    hop: int,
    window: int,
    min_lag: int,
    max_lag: int,
    threshold: float,
    clock_rate: float,
    f0_out: np.ndarray,
    level_out: np.ndarray,
) -> int:
    """f0 (Hz, 0 when unvoiced) and level (dBFS) for each hop of x (float64)."""
    difference = np.zeros(max_lag + 2)
    frames = 0
    start = 0
    while start + window + max_lag + 1 <= x.shape[0] and frames < f0_out.shape[0]:
        energy = 0.0
        for j in range(window):
            energy += x[start + j] * x[start + j]
        rms = math.sqrt(energy / window) * math.sqrt(2.0)
        level_out[frames] = 20.0 * math.log10(rms / 32768.0) if rms > 0.0 else -120.0
        running = 0.0
        f0 = 0.0
        found = -1
        for lag in range(1, max_lag + 2):
            d = 0.0
            for j in range(window):
                delta = x[start + j] - x[start + j + lag]
                d += delta * delta
            running += d
            difference[lag] = d * lag / running if running > 0.0 else 1.0
        lag = min_lag
        while lag <= max_lag:
            if difference[lag] < threshold:
                while lag + 1 <= max_lag and difference[lag + 1] < difference[lag]:
                    lag += 1
                found = lag
                break
            lag += 1
        if found > 0:
            before, here, after = difference[found - 1], difference[found], difference[found + 1]
            curvature = before - 2.0 * here + after
            shift = 0.5 * (before - after) / curvature if curvature > 0.0 else 0.0
            f0 = clock_rate / (found + shift)
        f0_out[frames] = f0
        frames += 1
        start += hop
    return frames


def pitch_track(samples: np.ndarray, clock_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz with 0 for unvoiced, level in dBFS), one value per 10 ms."""
    x = np.asarray(samples, dtype=np.float64)
    hop = clock_rate * HOP_MS // 1000
    window = clock_rate * WINDOW_MS // 1000
    min_lag = int(clock_rate / MAX_F0_HZ)
    max_lag = math.ceil(clock_rate / MIN_F0_HZ)
    count = max((len(x) - window - max_lag - 1) // hop + 1, 0)
    f0 = np.zeros(count)
    level = np.zeros(count)
    frames = pitch_track_into(
        x, hop, window, min_lag, max_lag, YIN_THRESHOLD, float(clock_rate), f0, level
    )
    return f0[:frames], level[:frames]


def syllable_nuclei(level_db: np.ndarray, voiced: np.ndarray) -> int:
    """Count energy peaks (10 ms frames) that stand out enough to be syllable nuclei."""
    if len(level_db) == 0:
        return 0
    smooth = np.convolve(level_db, np.ones(5) / 5, mode="same")  # 50 ms
    floor = smooth.max() - ACTIVE_RANGE_DB
    spacing = NUCLEUS_SPACING_MS // HOP_MS
    count = 0
    dip = smooth[0]
    last_peak = -spacing
    for i in range(1, len(smooth) - 1):
        dip = min(dip, smooth[i])
        is_peak = smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1]
        if (
            is_peak
            and voiced[i]
            and smooth[i] > floor
            and smooth[i] - dip >= NUCLEUS_PROMINENCE_DB
            and i - last_peak >= spacing
        ):
            count += 1
            last_peak = i
            dip = smooth[i]
    return count


@dataclass(frozen=True)
class UtteranceProsody:
    """Summary of one utterance (or of a speaker's baseline)."""

    speech_seconds: float
    f0_median_hz: float  # 0 when nothing was voiced
    f0_spread_semitones: float  # inter-quartile range of the pitch track
    level_dbfs: float  # power mean of the active frames
    syllables_per_second: float
    voiced_fraction: float


@dataclass
class _Pool:
    """Frame-level material pooled over one or more utterances."""

    f0: list[np.ndarray] = field(default_factory=list)
    power: float = 0.0
    active_frames: int = 0
    voiced_frames: int = 0
    nuclei: int = 0

    def add(self, samples: np.ndarray, clock_rate: int) -> None:
        f0, level = pitch_track(samples, clock_rate)
        if len(level) == 0:
            return
        active = level > level.max() - ACTIVE_RANGE_DB
        voiced = (f0 > 0) & active
        self.f0.append(f0[voiced])
        self.power += float(np.sum(10 ** (level[active] / 10)))
        self.active_frames += int(active.sum())
        self.voiced_frames += int(voiced.sum())
        self.nuclei += syllable_nuclei(level, voiced)

    def summary(self) -> UtteranceProsody:
        seconds = self.active_frames * HOP_MS / 1000
        f0 = np.concatenate(self.f0) if self.f0 else np.zeros(0)
        if len(f0) >= 3:
            q1, median, q3 = np.percentile(f0, [25, 50, 75])
            spread = 12 * math.log2(q3 / q1)
        else:
            median, spread = 0.0, 0.0
        level = 10 * math.log10(self.power / self.active_frames) if self.active_frames else -120.0
        return UtteranceProsody(
            speech_seconds=seconds,
            f0_median_hz=float(median),
            f0_spread_semitones=float(spread),
            level_dbfs=level,
            syllables_per_second=self.nuclei / seconds if seconds else 0.0,
            voiced_fraction=self.voiced_frames / self.active_frames if self.active_frames else 0.0,
        )


def analyse_utterance(samples: np.ndarray, clock_rate: int) -> UtteranceProsody:
    """Prosody of one utterance (int16 or float samples at 8 or 16 kHz)."""
    pool = _Pool()
    pool.add(np.asarray(samples), clock_rate)
    return pool.summary()


@dataclass(frozen=True)
class ProsodyChange:
    """An utterance against the speaker's baseline: positive means higher, louder, faster."""

    pitch_semitones: float
    level_db: float
    rate_ratio: float
    spread_semitones: float

    @property
    def agitation(self) -> float:
        """Rough arousal score: the mean of three raised cues, each in its own unit (+3
        semitones of pitch, +6 dB of level, +30 % speaking rate); 0 is calm, 1 is all three
        cues raised by one unit. Lower-than-baseline cues count as 0."""
        return (
            max(self.pitch_semitones, 0.0) / 3.0
            + max(self.level_db, 0.0) / 6.0
            + max(self.rate_ratio - 1.0, 0.0) / 0.3
        ) / 3.0


def compare(utterance: UtteranceProsody, baseline: UtteranceProsody) -> ProsodyChange:
    pitch = (
        12 * math.log2(utterance.f0_median_hz / baseline.f0_median_hz)
        if utterance.f0_median_hz > 0 and baseline.f0_median_hz > 0
        else 0.0
    )
    rate = (
        utterance.syllables_per_second / baseline.syllables_per_second
        if baseline.syllables_per_second > 0
        else 1.0
    )
    return ProsodyChange(
        pitch_semitones=pitch,
        level_db=utterance.level_dbfs - baseline.level_dbfs,
        rate_ratio=rate,
        spread_semitones=utterance.f0_spread_semitones - baseline.f0_spread_semitones,
    )


@dataclass(frozen=True)
class ProsodyReport:
    """What the tracker says at the end of an utterance; ``change`` is None while the
    baseline is still being collected."""

    utterance: UtteranceProsody
    change: ProsodyChange | None


class ProsodyTracker:
    """Per-caller tracker: feed the caller's speech frames, close each utterance (e.g. on the
    VAD's end of utterance) and get its prosody and its change against the caller's first
    ``baseline_seconds`` of speech."""

    def __init__(self, clock_rate: int, baseline_seconds: float = 3.0) -> None:
        self.clock_rate = clock_rate
        self.baseline_seconds = baseline_seconds
        self._frames: list[np.ndarray] = []
        self._baseline_pool = _Pool()
        self.baseline: UtteranceProsody | None = None

    def add_frame(self, frame: np.ndarray) -> None:
        self._frames.append(np.asarray(frame, dtype=np.float64))

    def end_utterance(self) -> ProsodyReport | None:
        """Close the utterance fed so far; None when it held no audio."""
        if not self._frames:
            return None
        samples = np.concatenate(self._frames)
        self._frames = []
        pool = _Pool()
        pool.add(samples, self.clock_rate)
        utterance = pool.summary()
        if self.baseline is None:
            self._baseline_pool.add(samples, self.clock_rate)
            summary = self._baseline_pool.summary()
            if summary.speech_seconds >= self.baseline_seconds:
                self.baseline = summary
            return ProsodyReport(utterance, None)
        return ProsodyReport(utterance, compare(utterance, self.baseline))
