"""The echo canceller's state layout (planes and slots of its arrays) and its tuning.

Shared by the kernels of ``dsp.aec_filter``, ``dsp.aec_paths`` and ``dsp.aec_suppressor``
and by the public classes of ``dsp.aec``; numba freezes these module constants at compile time.

numba's cache checks only the file a kernel is defined in: after editing a value here, delete
the ``dsp/__pycache__/aec*.nb*`` files (``dsp.aec``'s own kernels are ``aec.*``, not
``aec_*``), or touch the kernel modules, or the cached kernels keep the old values.
"""

from __future__ import annotations

# --- state layout ---------------------------------------------------------------------------
# spectra[c, plane, partition, bin] (complex64)
FAR_HISTORY, BACKGROUND, FOREGROUND = 0, 1, 2
# bins[c, plane, bin] (float32): slow averages for the leakage regressions, suppressor PSDs
ERR_AVG, FAR_AVG, OUT_AVG, OUT_FAR_AVG, OUT_PSD, RESIDUAL_PSD, FAR_PSD = 0, 1, 2, 3, 4, 5, 6
BIN_PLANES = 7
# blocks[c, plane, sample] (float32): previous far block, previous output block
FAR_PREVIOUS, OUT_PREVIOUS = 0, 1
# scalars[c, slot] (float64)
HEAD, FRAMES, ACTIVE_FRAMES = 0, 1, 2
LEAK, COVARIANCE, VARIANCE = 3, 4, 5  # background leakage regression
OUT_LEAK = 6  # suppressor leakage regression (slots 6, 7, 8)
FG_ERROR, BG_ERROR, COPY_RUN, RESET_RUN = 9, 10, 11, 12
LAST_FAR, LAST_NEAR, LAST_OUT = 13, 14, 15  # pre-emphasis and de-emphasis memories
MIC_ENERGY, HARMFUL_RUN, ESTABLISHED = 16, 17, 18
ALONE = 19  # frames left in which the far end talks alone (the background removes 20 dB)
ECHO_RATIO, DROP_RUN = 20, 21  # what comes back over the far end's tail power, echo alone
ALONE_RUN = 22  # frames in a row in which the background removed 20 dB (the far end alone)
SCALAR_SLOTS = 23

# --- tuning ---------------------------------------------------------------------------------
PRE_EMPHASIS = 0.9  # both signals are tilted towards high frequencies, speech is flatter
CONSTRAINT_STRIDE = 3  # each partition is made causal again every this many frames
MU_MAX = 1.5  # largest normalised step of the background filter
STEP_GAIN = 1.5  # the optimal step (residual echo / error) scaled for our block gradient
MU_MIN = 0.3  # smallest step: keeps converging below the line noise
MU_MIN_ALONE = 1.2  # smallest step while the far end talks alone (no caller to leak in)
ALONE_STEP_FRAMES = 10  # ... for this many frames in a row (a caller's quiet syllable is not)
MU_WARMUP = 1.5  # fixed step until the filter has seen enough far-end speech
WARMUP_FRAMES = 150  # frames with far-end activity before the adaptive step takes over
LEAK_MIN, LEAK_MAX, LEAK_INITIAL = 1e-9, 1.0, 0.25
LEAK_RATE = 0.08  # how fast the leakage regression follows (per active frame)
AVERAGE_RATE = 0.05  # slow spectra the regression measures fluctuations against
FAR_ACTIVE_RMS = 30.0  # far-end frames below this RMS (about -60 dBFS) do not adapt
FAR_PSD_RATE = 0.12  # per-bin far power is smoothed over about partitions / rate frames
REGULARISATION = 0.1  # per-bin normalisation never below this share of the mean bin power
POWER_FLOOR_RMS = 10.0  # regularises the per-bin normalisation in silent bins
TWO_PATH_SMOOTHING = 0.6  # smoothing of the two filters' error energies
COPY_CANCELS = 0.25  # ... and removes at least 6 dB of what came back
CLEAR_CANCELS = 0.03  # a background removing 15 dB of what came back is copied at once
ALONE_CANCELS = 0.01  # a background removing 20 dB of what came back: the far end is alone
COPY_MARGIN, COPY_HOLD = 0.97, 4  # background this much better for this many frames: copy
HARMFUL_MARGIN, HARMFUL_HOLD = 1.2, 3  # foreground this much worse than nothing: new path
ECHO_ALONE_CANCELS = 0.01  # a foreground removing 20 dB: what comes back is echo alone
DROP_CANCELS, DROP_LOUDER, DROP_HOLD = 0.1, 1.5, 4  # removes < 10 dB, not 2 dB louder: new path
RESET_MARGIN, RESET_HOLD = 8.0, 6  # background this much worse for this long: reset
OVER_SUBTRACTION = 4.0  # suppressor: residual echo estimate is scaled up by this
RESIDUAL_DECAY = 0.6  # suppressor: residual estimate falls at most this much per frame
OUT_PSD_SMOOTHING = 0.4
TALKING_MARGIN = 4.0  # suppressor: output this far above the residual estimate is the caller
GAIN_FLOOR = 0.06  # suppressor: at most about 24 dB of attenuation
ALONE_GAIN_FLOOR = 0.01  # ... and while the far end talks alone (G.168's NLP: deeper)
