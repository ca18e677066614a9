"""Two-path control of the echo canceller: when the background is copied into the
foreground, when it is reset, when the echo path changed; and the per-frame adaptation that
runs the background's step and this control for every channel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.aec_filter import _adapt_background, _constrain, _power, _update_leakage
from dsp.aec_state import (
    ACTIVE_FRAMES,
    ALONE,
    ALONE_CANCELS,
    ALONE_RUN,
    ALONE_STEP_FRAMES,
    BACKGROUND,
    BG_ERROR,
    CLEAR_CANCELS,
    COPY_CANCELS,
    COPY_HOLD,
    COPY_MARGIN,
    COPY_RUN,
    COVARIANCE,
    DROP_CANCELS,
    DROP_HOLD,
    DROP_LOUDER,
    DROP_RUN,
    ECHO_ALONE_CANCELS,
    ECHO_RATIO,
    ERR_AVG,
    ESTABLISHED,
    FAR_AVG,
    FG_ERROR,
    FOREGROUND,
    HARMFUL_HOLD,
    HARMFUL_MARGIN,
    HARMFUL_RUN,
    HEAD,
    LAST_NEAR,
    LEAK,
    LEAK_INITIAL,
    MIC_ENERGY,
    OUT_AVG,
    OUT_FAR_AVG,
    OUT_LEAK,
    PRE_EMPHASIS,
    RESET_HOLD,
    RESET_MARGIN,
    RESET_RUN,
    TWO_PATH_SMOOTHING,
    VARIANCE,
    WARMUP_FRAMES,
)


@njit(cache=True, nogil=True)
def _two_path(
    spectra: np.ndarray, bins: np.ndarray, scalars: np.ndarray, energies: np.ndarray
) -> None:
    """Copy the background into the foreground when better; reset it when it has diverged.

    A copy also needs the background to remove most of what came back: a background that
    looks better only because it learnt a little of the caller's voice (double talk) removes
    little, since the caller's voice dominates what came back. The exceptions are the first
    foreground that has never cancelled well (the first frames) and a foreground that makes
    things worse than no cancelling (a new echo path).
    """
    a = TWO_PATH_SMOOTHING
    scalars[BG_ERROR] = a * scalars[BG_ERROR] + (1 - a) * energies[0]
    scalars[FG_ERROR] = a * scalars[FG_ERROR] + (1 - a) * energies[1]
    scalars[MIC_ENERGY] = a * scalars[MIC_ENERGY] + (1 - a) * energies[2]
    mic = scalars[MIC_ENERGY]
    # the echo path changed when the foreground adds echo instead of removing it ...
    harmful = scalars[FG_ERROR] > HARMFUL_MARGIN * mic
    scalars[HARMFUL_RUN] = scalars[HARMFUL_RUN] + 1 if harmful else 0
    # ... or when it suddenly removes little of what came back although what came back is no
    # louder, against the far end, than the echo alone was (a caller would make it louder)
    ratio = mic / (energies[3] + 1e-9)
    if scalars[FG_ERROR] < ECHO_ALONE_CANCELS * mic:
        known = scalars[ECHO_RATIO]
        scalars[ECHO_RATIO] = ratio if known == 0.0 else known + 0.1 * (ratio - known)
    dropped = (
        scalars[ECHO_RATIO] > 0.0
        and scalars[FG_ERROR] > DROP_CANCELS * mic
        and ratio < DROP_LOUDER * scalars[ECHO_RATIO]
    )
    scalars[DROP_RUN] = scalars[DROP_RUN] + 1 if dropped else 0
    harms = scalars[HARMFUL_RUN] >= HARMFUL_HOLD
    new_path = harms and scalars[ESTABLISHED] == 1  # a path that was learnt now adds echo
    if harms or scalars[DROP_RUN] >= DROP_HOLD:
        scalars[ACTIVE_FRAMES] = 0  # learn the new path with the warm-up's fixed large step
        scalars[HARMFUL_RUN] = 0
        scalars[DROP_RUN] = 0
        scalars[ECHO_RATIO] = 0.0
        # the background's leakage regression starts again from its prior, as on a new call
        scalars[LEAK] = LEAK_INITIAL
        scalars[COVARIANCE] = 0.0
        scalars[VARIANCE] = 0.0
        bins[ERR_AVG] = 0.0
        bins[FAR_AVG] = 0.0
        if harms:
            scalars[ESTABLISHED] = 0
        if new_path:  # a foreground that adds echo is no help: learn the path from scratch
            spectra[BACKGROUND] = 0
            spectra[FOREGROUND] = 0
            scalars[OUT_LEAK] = LEAK_INITIAL  # and the suppressor's regression too
            scalars[OUT_LEAK + 1] = 0.0
            scalars[OUT_LEAK + 2] = 0.0
            bins[OUT_AVG] = 0.0
            bins[OUT_FAR_AVG] = 0.0
    cancels = scalars[BG_ERROR] < COPY_CANCELS * mic
    if cancels:
        scalars[ESTABLISHED] = 1
    cancels = cancels or harmful or scalars[ESTABLISHED] == 0
    better = cancels and scalars[BG_ERROR] < COPY_MARGIN * scalars[FG_ERROR]
    scalars[COPY_RUN] = scalars[COPY_RUN] + 1 if better else 0
    # removing this much of what came back proves the far end alone is talking: copy at once
    clearly = scalars[BG_ERROR] < CLEAR_CANCELS * mic and scalars[BG_ERROR] < scalars[FG_ERROR]
    if clearly or scalars[COPY_RUN] >= COPY_HOLD:
        spectra[FOREGROUND] = spectra[BACKGROUND]
        scalars[FG_ERROR] = scalars[BG_ERROR]
        scalars[COPY_RUN] = 0
    worse = scalars[BG_ERROR] > RESET_MARGIN * scalars[FG_ERROR]
    scalars[RESET_RUN] = scalars[RESET_RUN] + 1 if worse else 0
    if scalars[RESET_RUN] >= RESET_HOLD:
        spectra[BACKGROUND] = spectra[FOREGROUND]
        scalars[BG_ERROR] = scalars[FG_ERROR]
        scalars[RESET_RUN] = 0


@njit(cache=True, nogil=True)
def _adapt(
    near: np.ndarray,
    echoes: np.ndarray,
    active: np.ndarray,
    far_power: np.ndarray,
    spectra: np.ndarray,
    bins: np.ndarray,
    scalars: np.ndarray,
    frame_index: int,
) -> np.ndarray:
    """Adapt every channel's background filter; return the foreground errors (the output)."""
    channels, n = near.shape
    # the background's error, zero-padded in front, all channels in one FFT
    padded = np.zeros((channels, 2 * n), dtype=np.float32)
    fg_errors = np.empty((channels, n), dtype=np.float32)
    energies = np.zeros((channels, 4), dtype=np.float64)  # background, foreground, near, far
    for c in range(channels):
        last = scalars[c, LAST_NEAR]
        for i in range(n):
            sample = near[c, i] - PRE_EMPHASIS * last
            last = near[c, i]
            bg_error = sample - echoes[c, 0, n + i]
            fg_error = sample - echoes[c, 1, n + i]
            padded[c, n + i] = bg_error
            fg_errors[c, i] = fg_error
            energies[c, 0] += bg_error * bg_error
            energies[c, 1] += fg_error * fg_error
            energies[c, 2] += sample * sample
        scalars[c, LAST_NEAR] = last
    for c in range(channels):  # after the far end stops, its echo lasts as long as the tail
        scalars[c, ALONE] = max(scalars[c, ALONE] - 1.0, 0.0)
    if not active.any():
        return fg_errors  # nothing to learn from: the far end is silent on every channel
    err_spectra = np.fft.rfft(padded, axis=-1)
    for c in range(channels):
        if active[c]:
            err_spec = err_spectra[c]
            err_power = _power(err_spec)
            leak = _update_leakage(
                err_power, far_power[c], bins[c, ERR_AVG], bins[c, FAR_AVG], scalars[c], LEAK, True
            )
            # removing this much of what came back: the far end talks alone (for the suppressor)
            alone = energies[c, 0] < ALONE_CANCELS * energies[c, 2]
            scalars[c, ALONE] = spectra.shape[2] + 1.0 if alone else 0.0
            energies[c, 3] = far_power[c].sum()
            warming_up = scalars[c, ACTIVE_FRAMES] < WARMUP_FRAMES
            scalars[c, ACTIVE_FRAMES] += 1
            head = int(scalars[c, HEAD])
            scalars[c, ALONE_RUN] = scalars[c, ALONE_RUN] + 1.0 if alone else 0.0
            long_alone = scalars[c, ALONE_RUN] >= ALONE_STEP_FRAMES
            _adapt_background(
                spectra[c], head, err_spec, err_power, far_power[c], leak, warming_up, long_alone
            )
    _constrain(spectra, active, frame_index)
    for c in range(channels):
        if active[c]:
            _two_path(spectra[c], bins[c], scalars[c], energies[c])
    return fg_errors
