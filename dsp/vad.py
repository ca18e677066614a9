"""Voice activity detection per 20 ms frame for barge-in and end-of-utterance: band energies
against tracked noise floors, spectral flatness, an optional echo gate, and hangover.

Each frame is high-passed, Hann-windowed and transformed; eight bands between 200 and 3400 Hz
give their power. Each band's noise floor is the minimum of its smoothed level over the last
two seconds, so the floor follows line noise up and down but never climbs onto speech that
pauses now and then. A frame is speech-like when the bands stand clearly above their floors
(mean SNR) and the spectrum is not flat like hiss. "Clearly" is each band's own margin: how
far its background alone wanders over the floor (learnt while nothing plays and nobody
talks; it starts from what random noise does in a band that wide, `background_spread`).
Digital-silence gaps and concealment dips (a lost packet's fade) teach the floors nothing.
While the switch plays audio to the caller, the worker may pass that frame's level: the
detector learns how loud the echo canceller's residual is relative to it and ignores input
that is not louder than that residual. Given also the frame's level before the canceller, it
learns the echo path's own coupling alike, and a frame the canceller barely cleaned must beat
that too (an unconverged canceller's error).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from dsp.clock import CLOCK_RATE
from dsp.levels import frame_levels

BAND_EDGES_HZ = (200.0, 400.0, 600.0, 850.0, 1150.0, 1500.0, 2000.0, 2600.0, 3400.0)
FLOOR_MEMORY_FRAMES = 100  # two seconds of 20 ms frames
FLOOR_SMOOTHING = 0.5  # each band's level is smoothed over two frames
#: a lost packet's concealment fades a frame or three, and such a dip must not drag the
#: two-second minimum under the room's noise (it did: the noise then read as speech once the
#: greeting ended): a frame this far under the line's recent level teaches the floors nothing
FLOOR_DIP_DB = 4.0
RECENT_RATE = 0.05  # that recent level's memory: about 20 frames
WARM_UP_FRAMES = 4  # no speech before the floors have heard this much of the line

# layout of the per-stream state vector
_HP_IN, _HP_OUT, _FRAMES, _RUN, _HANG, _SPEAKING, _SILENT, _SLOT, _COUPLING = range(9)
_QUIET, _OPEN = 9, 10  # frames since the last speech-like frame; an utterance is open
_RAW_COUPLING = 11  # the echo path's own coupling: input before the canceller over the far end
_NEAR_HP_IN, _NEAR_HP_OUT = 12, 13  # the high-pass of the input before the canceller
_RECENT_DBFS = 14  # the line's recent level (before the canceller when given), for dips
#: then each band's smoothed level, each band's floor (the minimum), each band's smoothed
#: level before the canceller (the floor learns from it when given), and the mean and the
#: mean square of each band's level over its floor in frames of background alone (its spread)
_BANDS_AT = 15
_BAND_VECTORS = 5
SPREAD_RATE = 0.02  # the spread's memory: about a second of background frames
FLATNESS_GROUP = 8  # bins whose powers are multiplied before one logarithm
GAP_DBFS = -90.0  # this quiet before the canceller: a gap in the stream, not a room

# layout of the parameter vector
(
    P_SNR_DB,
    P_STRONG_SNR_DB,
    P_MIN_LEVEL_DBFS,
    P_MAX_FLATNESS,
    P_ONSET_FRAMES,
    P_HANGOVER_FRAMES,
    P_ECHO_MARGIN_DB,
    P_FLOOR_BIAS_DB,
    P_END_FRAMES,
    P_ECHO_REMOVED_DB,
    P_SPREAD_DEVIATIONS,
) = range(11)

# layout of the features vector the kernel fills
F_LEVEL, F_SNR, F_FLATNESS, F_RAW, F_SCORE, F_SPEECH, F_STARTED, F_ENDED = range(8)


@njit(cache=True, nogil=True)
def _near_bands_db(
    near: np.ndarray,
    state: np.ndarray,
    window: np.ndarray,
    band_low: np.ndarray,
    band_high: np.ndarray,
    nfft: int,
) -> np.ndarray:
    """Each band's level (dB) of the frame before the canceller, high-passed like the frame."""
    buffer = np.zeros(nfft)
    x_prev = state[_NEAR_HP_IN]
    y_prev = state[_NEAR_HP_OUT]
    for i in range(near.shape[0]):
        x = float(near[i])
        y = x - x_prev + 0.98 * y_prev
        x_prev = x
        y_prev = y
        buffer[i] = y * window[i]
    state[_NEAR_HP_IN] = x_prev
    state[_NEAR_HP_OUT] = y_prev
    spectrum = np.fft.rfft(buffer)
    power = spectrum.real**2 + spectrum.imag**2
    levels = np.empty(band_low.shape[0])
    for b in range(band_low.shape[0]):
        band_power = 0.0
        for k in range(band_low[b], band_high[b]):
            band_power += power[k]
        levels[b] = 10.0 * math.log10(band_power / (band_high[b] - band_low[b]) + 1e-3)
    return levels


@njit(cache=True, nogil=True)
def _raw_dbfs(frame: np.ndarray) -> float:
    """The frame's level as it came (no high-pass: its tail is not the line's), dBFS."""
    energy = 0.0
    for i in range(frame.shape[0]):
        energy += float(frame[i]) * float(frame[i])
    rms = math.sqrt(energy / frame.shape[0]) * math.sqrt(2.0)
    return 20.0 * math.log10(rms / 32768.0) if rms > 0.0 else -120.0


@njit(cache=True, nogil=True)
def _smooth(previous: float, level: float) -> float:
    return FLOOR_SMOOTHING * previous + (1.0 - FLOOR_SMOOTHING) * level


@njit(cache=True, nogil=True)
def _learn_floor(
    b: int,
    band_db: float,
    near_levels: np.ndarray,
    first: bool,
    slot: int,
    state: np.ndarray,
    floors: np.ndarray,
    minima: int,
    nears: int,
) -> None:
    """Band *b*'s smoothed level and its floor, the minimum of the smoothed levels over the
    memory (from the frame before the canceller when *near_levels* has it)."""
    smoothed = band_db if first else _smooth(state[_BANDS_AT + b], band_db)
    state[_BANDS_AT + b] = smoothed
    if near_levels.shape[0] > 0:  # the floor is the background before the canceller's attenuation
        smoothed = near_levels[b] if first else _smooth(state[nears + b], near_levels[b])
        state[nears + b] = smoothed
    if first:
        for s in range(floors.shape[0]):
            floors[s, b] = smoothed
        state[minima + b] = smoothed
    # kept, and searched again only when the level that held it leaves the memory
    leaving = floors[slot, b]
    floors[slot, b] = smoothed
    if smoothed <= state[minima + b]:
        state[minima + b] = smoothed
    elif leaving == state[minima + b]:
        lowest = floors[0, b]
        for s in range(1, floors.shape[0]):
            if floors[s, b] < lowest:
                lowest = floors[s, b]
        state[minima + b] = lowest


@njit(cache=True, nogil=True)
def _background_margin(state: np.ndarray, mean: int, square: int, params: np.ndarray) -> float:
    """How far above its floor a band must be to count: its background's mean excursion over
    the floor plus `VadSettings.spread_deviations` standard deviations, never less than the
    floor bias nor more than 9 dB over it. Steady room noise with a tilted spectrum is not
    flat, so only this margin keeps its chance peaks (the floor is a two-second minimum,
    several dB under the noise's mean) from reading as speech."""
    deviation = math.sqrt(max(state[square] - state[mean] * state[mean], 0.0))
    spread = state[mean] + params[P_SPREAD_DEVIATIONS] * deviation
    margin: float = max(params[P_FLOOR_BIAS_DB], min(spread, params[P_FLOOR_BIAS_DB] + 9.0))
    return margin


@njit(cache=True, nogil=True)
def analyse_frame(
    frame: np.ndarray,
    far_end_dbfs: float,
    near_dbfs: float,
    near: np.ndarray,
    state: np.ndarray,
    floors: np.ndarray,
    window: np.ndarray,
    band_low: np.ndarray,
    band_high: np.ndarray,
    params: np.ndarray,
    features: np.ndarray,
) -> bool:
    """One 20 ms frame (any numeric dtype) through the detector; returns speech (after
    hangover).

    far_end_dbfs is the level of what the caller hears now, or NaN when nothing plays;
    near_dbfs the frame's level before the echo canceller, or NaN when not known; near the
    frame before the canceller (empty when not known): the noise floors learn from it, because
    the canceller's suppressor attenuates the room's noise while the far end plays alone (up
    to 40 dB), and a floor learnt from that made the same noise, back at its level when the
    prompt ended, read as strong speech for the two seconds the floor remembers.
    features receives [level dBFS, mean band SNR dB, flatness, raw speech-like 0/1, score,
    speech 0/1, speech started 0/1, utterance ended 0/1] (the F_* indices):
    the score is the mean band SNR, lowered below the SNR threshold for a frame that fails
    the other tests (too quiet, flat like hiss, within the echo residual), so that
    ``score >= snr_db`` is exactly the raw speech-like decision.
    """
    n = frame.shape[0]
    nfft = 1
    while nfft < n:
        nfft *= 2
    buffer = np.zeros(nfft)
    bands = band_low.shape[0]
    minima = _BANDS_AT + bands
    x_prev = state[_HP_IN]
    y_prev = state[_HP_OUT]
    energy = 0.0
    for i in range(n):
        x = float(frame[i])
        y = x - x_prev + 0.98 * y_prev  # DC and mains-hum blocking high-pass
        x_prev = x
        y_prev = y
        energy += y * y
        buffer[i] = y * window[i]
    state[_HP_IN] = x_prev
    state[_HP_OUT] = y_prev
    rms = math.sqrt(energy / n) * math.sqrt(2.0)
    level = 20.0 * math.log10(rms / 32768.0) if rms > 0.0 else -120.0
    spectrum = np.fft.rfft(buffer)
    power = spectrum.real**2 + spectrum.imag**2
    slot = int(state[_SLOT])
    # a gap in the stream (a frame the jitter buffer had nothing for and filled with silence,
    # a lost frame concealment gave up on) is not the caller's background: one such frame in
    # the floors' memory made a room's steady noise read as strong speech for two seconds
    given = near.shape[0] == n
    raw_dbfs = _raw_dbfs(near if given else frame)
    gap = raw_dbfs < GAP_DBFS
    first = state[_FRAMES] == 0.0 and not gap
    dip = not first and raw_dbfs < state[_RECENT_DBFS] - FLOOR_DIP_DB
    if not gap and state[_SPEAKING] == 0.0:  # the background's level, not the caller's
        recent = state[_RECENT_DBFS]
        state[_RECENT_DBFS] = raw_dbfs if first else recent + RECENT_RATE * (raw_dbfs - recent)
    learn = not gap and not dip  # gaps and concealment dips are not the caller's background
    nears = minima + bands
    near_levels = power[:0]
    if given:
        near_levels = _near_bands_db(near, state, window, band_low, band_high, nfft)
    spreads = nears + bands
    above = np.empty(bands)  # each band's level over its floor in this frame
    snr_sum = 0.0
    log_sum = 0.0
    linear_sum = 0.0
    bins = 0
    for b in range(bands):
        band_power = 0.0
        product = 1.0
        grouped = 0
        for k in range(band_low[b], band_high[b]):
            band_power += power[k]
            product *= power[k] + 1e-3
            grouped += 1
            if grouped == FLATNESS_GROUP:  # one logarithm per group of bins
                log_sum += math.log(product)
                product = 1.0
                grouped = 0
        log_sum += math.log(product)
        linear_sum += band_power
        bins += band_high[b] - band_low[b]
        band_power /= band_high[b] - band_low[b]
        band_db = 10.0 * math.log10(band_power + 1e-3)
        if learn:
            _learn_floor(b, band_db, near_levels, first, slot, state, floors, minima, nears)
        above[b] = band_db - state[minima + b]
        snr = above[b] - _background_margin(state, spreads + b, spreads + bands + b, params)
        if snr > 0.0:
            snr_sum += snr
    if learn:
        state[_SLOT] = (slot + 1) % floors.shape[0]
        state[_FRAMES] += 1.0
    mean_snr = snr_sum / bands
    flatness = math.exp(log_sum / bins) / (linear_sum / bins + 1e-3)

    speech_like = (
        state[_FRAMES] > WARM_UP_FRAMES
        and level >= params[P_MIN_LEVEL_DBFS]
        and mean_snr >= params[P_SNR_DB]
        and (flatness <= params[P_MAX_FLATNESS] or mean_snr >= params[P_STRONG_SNR_DB])
    )
    if not math.isnan(far_end_dbfs) and far_end_dbfs > -90.0:
        # echo gate: the input must beat the learnt residual coupling by a margin
        # (input level over far-end level): peak-hold that rises at most 1 dB a frame, only
        # while nobody talks and the frame is within the margin, and slowly relaxes
        coupling = level - far_end_dbfs
        echo_like = coupling < state[_COUPLING] + params[P_ECHO_MARGIN_DB]
        if state[_SPEAKING] == 0.0 and echo_like:
            state[_COUPLING] = max(
                state[_COUPLING] - 0.05, min(coupling, state[_COUPLING] + 1.0), -60.0
            )
        if not math.isnan(near_dbfs):
            # the same gate on the input before the canceller (the echo path's own coupling,
            # learnt alike), for frames the canceller did not clean: while it converges or
            # re-learns a changed path its output can be as loud as its input, or louder, and
            # the residual learnt while it cancelled well says nothing about such a frame
            raw_coupling = near_dbfs - far_end_dbfs
            raw_echo_like = raw_coupling < state[_RAW_COUPLING] + params[P_ECHO_MARGIN_DB]
            if state[_SPEAKING] == 0.0 and raw_echo_like:
                state[_RAW_COUPLING] = max(
                    state[_RAW_COUPLING] - 0.05,
                    min(raw_coupling, state[_RAW_COUPLING] + 1.0),
                    -60.0,
                )
            if raw_echo_like and near_dbfs - level < params[P_ECHO_REMOVED_DB]:
                echo_like = True
        if echo_like:
            speech_like = False
    score = mean_snr if speech_like else min(mean_snr, params[P_SNR_DB] - 1e-3)
    nothing_plays = math.isnan(far_end_dbfs) or far_end_dbfs <= -90.0
    if not speech_like and learn and nothing_plays and state[_SPEAKING] == 0.0:
        for b in range(bands):  # the background alone: how far above its floor it wanders
            mean, square = spreads + b, spreads + bands + b
            state[mean] += SPREAD_RATE * (above[b] - state[mean])
            state[square] += SPREAD_RATE * (above[b] * above[b] - state[square])

    was_speaking = state[_SPEAKING] == 1.0
    if speech_like:
        state[_RUN] += 1.0
        state[_SILENT] = 0.0
    else:
        state[_RUN] = 0.0
        state[_SILENT] += 1.0
    if state[_SPEAKING] == 0.0:
        if state[_RUN] >= params[P_ONSET_FRAMES] or (
            speech_like and mean_snr >= params[P_STRONG_SNR_DB]
        ):
            state[_SPEAKING] = 1.0
            state[_HANG] = params[P_HANGOVER_FRAMES]
    elif speech_like:
        state[_HANG] = params[P_HANGOVER_FRAMES]
    else:
        state[_HANG] -= 1.0
        if state[_HANG] < 0.0:
            state[_SPEAKING] = 0.0
    started = state[_SPEAKING] == 1.0 and not was_speaking
    ended = False
    if speech_like:
        state[_QUIET] = 0.0
    else:
        state[_QUIET] += 1.0
    if state[_SPEAKING] == 1.0:
        state[_OPEN] = 1.0
    elif state[_OPEN] == 1.0 and state[_QUIET] >= params[P_END_FRAMES]:
        state[_OPEN] = 0.0
        ended = True
    features[F_LEVEL] = level
    features[F_SNR] = mean_snr
    features[F_FLATNESS] = flatness
    features[F_RAW] = 1.0 if speech_like else 0.0
    features[F_SCORE] = score
    features[F_SPEECH] = state[_SPEAKING]
    features[F_STARTED] = 1.0 if started else 0.0
    features[F_ENDED] = 1.0 if ended else 0.0
    speaking: bool = state[_SPEAKING] == 1.0
    return speaking


@dataclass
class VadSettings:
    """Thresholds of the detector; times are in 20 ms frames."""

    snr_db: float = 2.5  # mean band SNR a speech-like frame needs
    strong_snr_db: float = 12.0  # above this, flatness is not checked and onset is immediate
    min_level_dbfs: float = -55.0
    max_flatness: float = 0.5  # hiss is flat (about 0.55), voiced speech is peaky (< 0.1)
    onset_frames: int = 2  # 40 ms of speech-like frames start speech (barge-in)
    hangover_frames: int = 10  # 200 ms bridge between words
    echo_margin_db: float = 6.0  # speech must be this much above the learnt echo residual
    #: a frame the canceller took less than this off must also beat the echo path's own
    #: learnt coupling by the margin (only when the input before the canceller is given)
    echo_removed_db: float = 10.0
    initial_coupling_db: float = -25.0  # residual echo level expected below the far end
    floor_bias_db: float = 3.0  # the two-second minimum lies below the noise's mean level
    #: a band counts above its background's mean excursion over the floor plus this many of
    #: its standard deviations (the margin is never below floor_bias_db)
    spread_deviations: float = 0.3
    end_of_utterance_ms: int = 700

    def vector(self) -> np.ndarray:
        return np.array(
            [
                self.snr_db,
                self.strong_snr_db,
                self.min_level_dbfs,
                self.max_flatness,
                self.onset_frames,
                self.hangover_frames,
                self.echo_margin_db,
                self.floor_bias_db,
                self.end_of_utterance_ms / 20.0,
                self.echo_removed_db,
                self.spread_deviations,
            ],
            dtype=np.float64,
        )


class VoiceActivity(NamedTuple):
    """The detector's verdict on one frame."""

    speech: bool  # speech now (hangover included)
    started: bool  # speech began in this frame: barge-in
    ended: bool  # end of utterance: end_of_utterance_ms since the last speech-like frame
    level_dbfs: float
    snr_db: float
    #: continuous speech score of this frame before onset and hangover (dB; the frame is
    #: speech-like when it reaches ``VadSettings.snr_db``): for ROC curves and thresholds
    score: float = 0.0


@dataclass
class VoiceActivityDetector:
    """Streaming VAD for one leg: call ``process`` with each 20 ms frame (160 samples at
    8 kHz, 320 at 16 kHz), optionally with the level of what is being played to the caller."""

    clock_rate: int = CLOCK_RATE
    settings: VadSettings = field(default_factory=VadSettings)
    _calibrating: bool = field(default=False, repr=False)  # `background_spread` runs one

    def __post_init__(self) -> None:
        if self.clock_rate not in (8000, 16000):
            raise ValueError(f"unsupported clock rate {self.clock_rate}")
        self.frame_size = self.clock_rate // 50
        nfft = 256 if self.clock_rate == 8000 else 512
        resolution = self.clock_rate / nfft
        edges = [round(f / resolution) for f in BAND_EDGES_HZ]
        self._band_low = np.array(edges[:-1], dtype=np.int64)
        self._band_high = np.array(edges[1:], dtype=np.int64)
        self._window = np.hanning(self.frame_size + 2)[1:-1]
        self._params = self.settings.vector()
        bands = len(self._band_low)
        self._state = np.zeros(_BANDS_AT + _BAND_VECTORS * bands)
        spreads = _BANDS_AT + 3 * bands
        if self._calibrating:  # the floor bias alone: mean 0, deviation the bias
            self._state[spreads + bands : spreads + 2 * bands] = self.settings.floor_bias_db**2
        else:
            self._state[spreads : spreads + 2 * bands] = background_spread(self.clock_rate)
        self._no_near = np.zeros(0, dtype=np.int16)
        self._state[_COUPLING] = self.settings.initial_coupling_db
        self._state[_RAW_COUPLING] = self.settings.initial_coupling_db
        self._floors = np.zeros((FLOOR_MEMORY_FRAMES, len(self._band_low)))
        self._features = np.zeros(8)

    def process(
        self,
        frame: np.ndarray,
        far_end_dbfs: float | None = None,
        near_dbfs: float | None = None,
        near: np.ndarray | None = None,
    ) -> VoiceActivity:
        """One frame (after the echo canceller, if any); *far_end_dbfs* the level played to the
        caller lately, *near_dbfs* the frame's level before the canceller (see the echo gate),
        *near* the frame itself before the canceller (the noise floors learn from it)."""
        if type(frame) is not np.ndarray:
            frame = np.asarray(frame, dtype=np.float64)
        if frame.shape[0] != self.frame_size:
            raise ValueError(f"expected {self.frame_size} samples, got {frame.shape[0]}")
        analyse_frame(
            frame,
            math.nan if far_end_dbfs is None else far_end_dbfs,
            math.nan if near_dbfs is None else near_dbfs,
            self._no_near if near is None else near,
            self._state,
            self._floors,
            self._window,
            self._band_low,
            self._band_high,
            self._params,
            self._features,
        )
        level, snr, _, _, score, speech, started, ended = self._features.tolist()
        return VoiceActivity(speech > 0.0, started > 0.0, ended > 0.0, level, snr, score)

    def speech_frames(self, samples: np.ndarray) -> np.ndarray:
        """Convenience: the per-frame speech decision over a whole signal."""
        count = len(samples) // self.frame_size
        return np.array(
            [
                self.process(samples[i * self.frame_size : (i + 1) * self.frame_size]).speech
                for i in range(count)
            ],
            dtype=bool,
        )


@functools.cache
def background_spread(clock_rate: int) -> np.ndarray:
    """Where a detector's spread starts, before it has heard the caller's background alone
    (an IVR plays its greeting at once): each band's mean and mean square over its floor for
    random noise, read once from 20 s of white noise. How far a band wanders over its
    two-second minimum depends on how many bins it holds, not on the noise's level or colour,
    so a narrow low band starts with a wider margin than a wide high one."""
    rng = np.random.default_rng(20261204)
    detector = VoiceActivityDetector(clock_rate, _calibrating=True)
    noise = np.rint(rng.normal(0.0, 300.0, 20 * clock_rate)).astype(np.int16)
    for i in range(0, len(noise) - detector.frame_size + 1, detector.frame_size):
        detector.process(noise[i : i + detector.frame_size])
    bands = len(detector._band_low)
    spreads = _BANDS_AT + 3 * bands
    spread: np.ndarray = detector._state[spreads : spreads + 2 * bands].copy()
    return spread


def far_end_level(frame: np.ndarray) -> float:
    """Level (dBFS) of a frame played to the caller, for ``process(..., far_end_dbfs=)``."""
    return frame_levels(np.ascontiguousarray(frame))[0]
