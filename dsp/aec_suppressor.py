"""Residual-echo suppressor of the echo canceller (its non-linear processor): per-bin gains
from the residual echo estimated by the leakage regression on the output.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.aec_filter import _power, _update_leakage
from dsp.aec_state import (
    ALONE,
    ALONE_GAIN_FLOOR,
    GAIN_FLOOR,
    OUT_AVG,
    OUT_FAR_AVG,
    OUT_LEAK,
    OUT_PREVIOUS,
    OUT_PSD,
    OUT_PSD_SMOOTHING,
    OVER_SUBTRACTION,
    RESIDUAL_DECAY,
    RESIDUAL_PSD,
    TALKING_MARGIN,
)


@njit(cache=True, nogil=True)
def _suppress(
    errors: np.ndarray,
    far_power: np.ndarray,
    active: np.ndarray,
    bins: np.ndarray,
    blocks: np.ndarray,
    scalars: np.ndarray,
) -> np.ndarray:
    """Attenuate the bins where the estimated residual echo dominates the output.

    The output is analysed over the last two frames and only its newest frame kept, so the
    suppressor adds no delay; the gains are smoothed across bins to keep their impulse
    response short.
    """
    channels, n = errors.shape
    windows = np.empty((channels, 2 * n), dtype=np.float32)
    for c in range(channels):
        windows[c, :n] = blocks[c, OUT_PREVIOUS]
        windows[c, n:] = errors[c]
        blocks[c, OUT_PREVIOUS] = errors[c]
    out_spectra = np.fft.rfft(windows, axis=-1)
    nbins = out_spectra.shape[1]
    gains = np.empty(nbins, dtype=np.float32)
    for c in range(channels):
        out_spec = out_spectra[c]
        out_power = _power(out_spec)
        leak = _update_leakage(
            out_power,
            far_power[c],
            bins[c, OUT_AVG],
            bins[c, OUT_FAR_AVG],
            scalars[c],
            OUT_LEAK,
            active[c],
        )
        alone = scalars[c, ALONE] > 0.0  # the far end talks alone: what is left is echo
        # output well above the residual echo it can explain: the caller talks, spare them
        explained = leak * far_power[c].sum()
        over = OVER_SUBTRACTION if out_power.sum() < TALKING_MARGIN * explained else 1.0
        floor = ALONE_GAIN_FLOOR if alone else GAIN_FLOOR
        for b in range(nbins):
            residual = over * leak * far_power[c, b]
            if alone:
                residual = max(residual, out_power[b])
            bins[c, RESIDUAL_PSD, b] = max(residual, RESIDUAL_DECAY * bins[c, RESIDUAL_PSD, b])
            bins[c, OUT_PSD, b] += (1 - OUT_PSD_SMOOTHING) * (out_power[b] - bins[c, OUT_PSD, b])
            psd = max(bins[c, OUT_PSD, b], out_power[b])
            gains[b] = max(floor, 1.0 - bins[c, RESIDUAL_PSD, b] / (psd + 1e-3))
        for b in range(nbins):
            left = gains[max(b - 1, 0)]
            right = gains[min(b + 1, nbins - 1)]
            out_spec[b] *= np.float32(0.25 * left + 0.5 * gains[b] + 0.25 * right)
    return np.fft.irfft(out_spectra, 2 * n, axis=-1)[:, n:]
