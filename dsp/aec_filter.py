"""Adaptive-filter kernels of the echo canceller: far-end history, echo estimates, the
background filter's normalised step and its causality constraint, the leakage regression.

See ``dsp.aec`` for the design; state layout and tuning are in ``dsp.aec_state``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.aec_state import (
    AVERAGE_RATE,
    BACKGROUND,
    CONSTRAINT_STRIDE,
    FAR_ACTIVE_RMS,
    FAR_HISTORY,
    FAR_PREVIOUS,
    FAR_PSD,
    FAR_PSD_RATE,
    FOREGROUND,
    FRAMES,
    HEAD,
    LAST_FAR,
    LEAK_MAX,
    LEAK_MIN,
    LEAK_RATE,
    MU_MAX,
    MU_MIN,
    MU_MIN_ALONE,
    MU_WARMUP,
    POWER_FLOOR_RMS,
    PRE_EMPHASIS,
    REGULARISATION,
    STEP_GAIN,
)


@njit(cache=True, nogil=True)
def _update_leakage(
    err_power: np.ndarray,
    far_power: np.ndarray,
    err_avg: np.ndarray,
    far_avg: np.ndarray,
    scalars: np.ndarray,
    slot: int,
    far_active: bool,
) -> float:
    """Regress the error's power fluctuations on the far end's; return the slope (leakage).

    Near-end speech moves the error's power independently of the far end, so it adds to the
    variance but not to the covariance: the estimate survives double talk. Each bin counts
    alike (fluctuations relative to the bin's own average).
    """
    covariance = 0.0
    variance = 0.0
    err_total = 0.0
    far_total = 0.0
    for b in range(err_power.shape[0]):
        err_avg[b] += AVERAGE_RATE * (err_power[b] - err_avg[b])
        far_avg[b] += AVERAGE_RATE * (far_power[b] - far_avg[b])
        weight = 1.0 / (far_avg[b] + 1.0)
        d_err = (err_power[b] - err_avg[b]) * weight
        d_far = (far_power[b] - far_avg[b]) * weight
        covariance += d_err * d_far
        variance += d_far * d_far
        err_total += err_power[b]
        far_total += far_power[b]
    if far_active and far_total > 0.0:
        rate = LEAK_RATE * min(1.0, far_total / (err_total + 1e-9))
        scalars[slot + 1] += rate * (covariance - scalars[slot + 1])
        scalars[slot + 2] += rate * (variance - scalars[slot + 2])
        if scalars[slot + 2] > 0.0:
            leak = scalars[slot + 1] / scalars[slot + 2]
            scalars[slot] = min(LEAK_MAX, max(LEAK_MIN, leak))
    slope: float = scalars[slot]
    return slope


@njit(cache=True, nogil=True)
def _power(spectrum: np.ndarray) -> np.ndarray:
    out = np.empty(spectrum.shape[0], dtype=np.float32)
    for b in range(spectrum.shape[0]):
        out[b] = spectrum[b].real * spectrum[b].real + spectrum[b].imag * spectrum[b].imag
    return out


@njit(cache=True, nogil=True)
def _push_far(
    far: np.ndarray, spectra: np.ndarray, blocks: np.ndarray, scalars: np.ndarray
) -> np.ndarray:
    """Add each channel's far block to its history of spectra; return which far ends talk."""
    channels, n = far.shape
    partitions = spectra.shape[2]
    windows = np.empty((channels, 2 * n), dtype=np.float32)
    active = np.zeros(channels, dtype=np.bool_)
    for c in range(channels):
        energy = 0.0
        last = scalars[c, LAST_FAR]
        for i in range(n):
            windows[c, i] = blocks[c, FAR_PREVIOUS, i]
            sample = np.float32(far[c, i] - PRE_EMPHASIS * last)
            last = far[c, i]
            windows[c, n + i] = sample
            blocks[c, FAR_PREVIOUS, i] = sample
            energy += float(sample * sample)
        scalars[c, LAST_FAR] = last
        active[c] = energy > n * FAR_ACTIVE_RMS * FAR_ACTIVE_RMS
    far_spectra = np.fft.rfft(windows, axis=-1)
    for c in range(channels):
        head = (int(scalars[c, HEAD]) + 1) % partitions
        scalars[c, HEAD] = head
        spectra[c, FAR_HISTORY, head] = far_spectra[c]
    return active


@njit(cache=True, nogil=True)
def _filter(
    spectra: np.ndarray, bins: np.ndarray, scalars: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Echo estimate spectra of both filters (channel, path, bin) and the far power per bin.

    The far power normalising the step is the larger of the power over the whole tail now
    and a slow average of the newest block's, times the number of partitions.
    """
    channels, _, partitions, nbins = spectra.shape
    echo_spectra = np.zeros((channels, 2, nbins), dtype=np.complex64)
    far_power = np.zeros((channels, nbins), dtype=np.float32)
    far_rate = FAR_PSD_RATE / partitions
    for c in range(channels):
        head = int(scalars[c, HEAD])
        bg_spec = echo_spectra[c, 0]
        fg_spec = echo_spectra[c, 1]
        tail_power = far_power[c]
        for m in range(partitions):
            history = spectra[c, FAR_HISTORY, (head - m) % partitions]
            background = spectra[c, BACKGROUND, m]
            foreground = spectra[c, FOREGROUND, m]
            for b in range(nbins):
                x = history[b]
                bg_spec[b] += x * background[b]
                fg_spec[b] += x * foreground[b]
                tail_power[b] += x.real * x.real + x.imag * x.imag
        newest = spectra[c, FAR_HISTORY, head]
        rate = max(far_rate, 1.0 / (scalars[c, FRAMES] + 1.0))  # a plain mean at first
        for b in range(nbins):
            x = newest[b]
            psd = bins[c, FAR_PSD, b]
            psd += rate * (x.real * x.real + x.imag * x.imag - psd)
            bins[c, FAR_PSD, b] = psd
            tail_power[b] = max(tail_power[b], partitions * psd)
    return echo_spectra, far_power


@njit(cache=True, nogil=True)
def _constrain(spectra: np.ndarray, active: np.ndarray, frame_index: int) -> None:
    """Make some background partitions causal filters again (zero their wrap-around half).

    Every CONSTRAINT_STRIDE-th partition is constrained per frame, in turn, so that each one
    is constrained every CONSTRAINT_STRIDE frames; all channels share one batched FFT.
    """
    channels, _, partitions, nbins = spectra.shape
    if not active.any():
        return
    n = nbins - 1
    first = frame_index % CONSTRAINT_STRIDE
    chosen = np.arange(first, partitions, CONSTRAINT_STRIDE)
    subset = np.empty((channels, chosen.shape[0], nbins), dtype=np.complex64)
    for c in range(channels):
        for k in range(chosen.shape[0]):
            subset[c, k] = spectra[c, BACKGROUND, chosen[k]]
    taps = np.fft.irfft(subset, 2 * n, axis=-1)
    taps[:, :, n:] = 0.0
    constrained = np.fft.rfft(taps, axis=-1)
    for c in range(channels):
        if active[c]:
            for k in range(chosen.shape[0]):
                spectra[c, BACKGROUND, chosen[k]] = constrained[c, k]


@njit(cache=True, nogil=True)
def _adapt_background(
    spectra: np.ndarray,
    head: int,
    err_spec: np.ndarray,
    err_power: np.ndarray,
    far_power: np.ndarray,
    leak: float,
    warming_up: bool,
    alone: bool,
) -> None:
    """One normalised gradient step, each bin's step from its residual echo to error ratio.
    While the far end talks alone the step never falls below MU_MIN_ALONE: there is no caller
    to leak into the filter then, and a larger floor keeps converging deep under the echo."""
    mu_floor = MU_MIN_ALONE if alone else MU_MIN
    partitions, nbins = spectra.shape[1], spectra.shape[2]
    gradient = np.empty(nbins, dtype=np.complex64)
    floor = 2.0 * (nbins - 1) * POWER_FLOOR_RMS * POWER_FLOOR_RMS * partitions
    floor += REGULARISATION * far_power.mean()
    for b in range(nbins):
        mu = STEP_GAIN * leak * far_power[b] / (err_power[b] + 1e-3)
        if warming_up:
            mu = max(mu, MU_WARMUP)
        mu = min(max(mu, mu_floor), MU_MAX)
        gradient[b] = err_spec[b] * np.float32(mu / (far_power[b] + floor))
    for m in range(partitions):
        far = spectra[FAR_HISTORY, (head - m) % partitions]
        weights = spectra[BACKGROUND, m]
        for b in range(nbins):
            weights[b] += far[b].conjugate() * gradient[b]
