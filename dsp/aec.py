"""Echo canceller for a call leg: a two-path partitioned-block frequency-domain adaptive filter.

The reference (*far*) is what the switch sends to the caller; the input (*near*) is what comes
back: the echo of *far* plus the caller's own speech and line noise. Each channel keeps

- a background filter that adapts while the far end talks, with a per-bin step size set from
  the estimated residual echo over the error (the residual echo is the "leakage" of the far
  end's power into the error, found by regressing the error's power fluctuations on the far
  end's: the caller's voice adds variance but no covariance), so that it slows down by itself
  while the caller talks;
- a foreground filter that produces the output and never adapts: the background is copied into
  it only when it cancels better *and* removes most of what came back (a background that
  learnt some of the caller's voice removes little of it), and the background is reset to it
  when it has clearly diverged. A foreground that adds echo instead of removing it means the
  echo path changed: the background then learns again with the fast warm-up step;
- an optional residual-echo suppressor: a per-bin gain from the residual echo estimated by the
  same regression on the output.

Both signals are pre-emphasised (speech is flatter, the per-bin steps better balanced) and the
output de-emphasised. Each partition of the background is made causal again every
CONSTRAINT_STRIDE frames, in turn. The bulk delay is read from the foreground's impulse
response (its strongest tap).

All channels' state lives in a few arrays with a leading channel axis, so that a bank of
channels is processed frame by frame in one numba call; a single channel is a bank of one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.clock import CLOCK_RATE

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
SCALAR_SLOTS = 20

# --- tuning ---------------------------------------------------------------------------------
PRE_EMPHASIS = 0.9  # both signals are tilted towards high frequencies, speech is flatter
CONSTRAINT_STRIDE = 3  # each partition is made causal again every this many frames
MU_MAX = 1.5  # largest normalised step of the background filter
STEP_GAIN = 1.5  # the optimal step (residual echo / error) scaled for our block gradient
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
HARMFUL_MARGIN, HARMFUL_HOLD = 1.5, 4  # foreground this much worse than nothing: new path
RESET_MARGIN, RESET_HOLD = 8.0, 6  # background this much worse for this long: reset
OVER_SUBTRACTION = 4.0  # suppressor: residual echo estimate is scaled up by this
RESIDUAL_DECAY = 0.6  # suppressor: residual estimate falls at most this much per frame
OUT_PSD_SMOOTHING = 0.4
TALKING_MARGIN = 4.0  # suppressor: output this far above the residual estimate is the caller
GAIN_FLOOR = 0.06  # suppressor: at most about 24 dB of attenuation


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
) -> None:
    """One normalised gradient step, each bin's step from its residual echo to error ratio."""
    partitions, nbins = spectra.shape[1], spectra.shape[2]
    gradient = np.empty(nbins, dtype=np.complex64)
    floor = 2.0 * (nbins - 1) * POWER_FLOOR_RMS * POWER_FLOOR_RMS * partitions
    floor += REGULARISATION * far_power.mean()
    for b in range(nbins):
        mu = STEP_GAIN * leak * far_power[b] / (err_power[b] + 1e-3)
        if warming_up:
            mu = max(mu, MU_WARMUP)
        mu = min(mu, MU_MAX)
        gradient[b] = err_spec[b] * np.float32(mu / (far_power[b] + floor))
    for m in range(partitions):
        far = spectra[FAR_HISTORY, (head - m) % partitions]
        weights = spectra[BACKGROUND, m]
        for b in range(nbins):
            weights[b] += far[b].conjugate() * gradient[b]


@njit(cache=True, nogil=True)
def _two_path(spectra: np.ndarray, scalars: np.ndarray, energies: np.ndarray) -> None:
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
    # the echo path changed when the foreground adds echo instead of removing it
    harmful = scalars[FG_ERROR] > HARMFUL_MARGIN * mic
    scalars[HARMFUL_RUN] = scalars[HARMFUL_RUN] + 1 if harmful else 0
    if scalars[HARMFUL_RUN] >= HARMFUL_HOLD:
        scalars[ACTIVE_FRAMES] = 0  # learn the new path with the warm-up's fixed large step
        scalars[HARMFUL_RUN] = 0
        scalars[ESTABLISHED] = 0
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
    energies = np.zeros((channels, 3), dtype=np.float64)  # background, foreground, near
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
            warming_up = scalars[c, ACTIVE_FRAMES] < WARMUP_FRAMES
            scalars[c, ACTIVE_FRAMES] += 1
            head = int(scalars[c, HEAD])
            _adapt_background(spectra[c], head, err_spec, err_power, far_power[c], leak, warming_up)
    _constrain(spectra, active, frame_index)
    for c in range(channels):
        if active[c]:
            _two_path(spectra[c], scalars[c], energies[c])
    return fg_errors


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
        for b in range(nbins):
            residual = over * leak * far_power[c, b]
            if alone:
                residual = max(residual, out_power[b])
            bins[c, RESIDUAL_PSD, b] = max(residual, RESIDUAL_DECAY * bins[c, RESIDUAL_PSD, b])
            bins[c, OUT_PSD, b] += (1 - OUT_PSD_SMOOTHING) * (out_power[b] - bins[c, OUT_PSD, b])
            psd = max(bins[c, OUT_PSD, b], out_power[b])
            gains[b] = max(GAIN_FLOOR, 1.0 - bins[c, RESIDUAL_PSD, b] / (psd + 1e-3))
        for b in range(nbins):
            left = gains[max(b - 1, 0)]
            right = gains[min(b + 1, nbins - 1)]
            out_spec[b] *= np.float32(0.25 * left + 0.5 * gains[b] + 0.25 * right)
    return np.fft.irfft(out_spectra, 2 * n, axis=-1)[:, n:]


@njit(cache=True, nogil=True)
def _cancel_bank(
    near: np.ndarray,
    far: np.ndarray,
    out: np.ndarray,
    spectra: np.ndarray,
    bins: np.ndarray,
    blocks: np.ndarray,
    scalars: np.ndarray,
    suppress: bool,
    adapt: bool,
    frame_index: int,
) -> None:
    """One frame for every channel: reference in, echo estimates, adaptation, suppression.

    Without *adapt* the filters are frozen (G.168's h-register freeze): they cancel as learnt
    and learn nothing; the suppressor goes on as usual.
    """
    channels, n = near.shape
    active = _push_far(far, spectra, blocks, scalars)
    echo_spectra, far_power = _filter(spectra, bins, scalars)
    echoes = np.fft.irfft(echo_spectra, 2 * n, axis=-1)
    learning = active & adapt
    cleaned = _adapt(near, echoes, learning, far_power, spectra, bins, scalars, frame_index)
    if suppress:
        cleaned = _suppress(cleaned, far_power, active, bins, blocks, scalars)
    for c in range(channels):
        scalars[c, FRAMES] += 1
        last = scalars[c, LAST_OUT]
        for i in range(n):
            last = cleaned[c, i] + PRE_EMPHASIS * last
            out[c, i] = np.int16(min(32767.0, max(-32768.0, np.round(last))))
        scalars[c, LAST_OUT] = last


@njit(cache=True, nogil=True)
def _cancel_one(
    near: np.ndarray,
    far: np.ndarray,
    spectra: np.ndarray,
    bins: np.ndarray,
    blocks: np.ndarray,
    scalars: np.ndarray,
    suppress: bool,
    adapt: bool,
    frame_index: int,
) -> np.ndarray:
    """One frame of a single channel (a bank of one, without the caller reshaping)."""
    n = near.shape[0]
    out = np.empty((1, n), dtype=np.int16)
    _cancel_bank(
        near.reshape(1, n),
        far.reshape(1, n),
        out,
        spectra,
        bins,
        blocks,
        scalars,
        suppress,
        adapt,
        frame_index,
    )
    frame: np.ndarray = out[0]
    return frame


class EchoCancellerBank:
    """Echo cancellers for *n_channels* call legs, all advanced by one frame per call."""

    def __init__(
        self,
        n_channels: int,
        clock_rate: int = CLOCK_RATE,
        tail_ms: int = 128,
        frame: int = 160,
        suppress: bool = True,
    ) -> None:
        if n_channels < 1 or frame < 8 or tail_ms <= 0 or clock_rate <= 0:
            raise ValueError("need n_channels >= 1, frame >= 8, tail_ms > 0, clock_rate > 0")
        self.n_channels = n_channels
        self.clock_rate = clock_rate
        self.frame = frame
        self.suppress = suppress
        #: False freezes every channel's filters (they cancel, they do not learn): G.168's
        #: h-register freeze, which its tests use to measure what a canceller has learnt
        self.adapt = True
        self.partitions = max(1, -(-(clock_rate * tail_ms // 1000) // frame))
        self.tail_taps = self.partitions * frame
        nbins = frame + 1
        self._spectra = np.zeros((n_channels, 3, self.partitions, nbins), dtype=np.complex64)
        self._bins = np.zeros((n_channels, BIN_PLANES, nbins), dtype=np.float32)
        self._blocks = np.zeros((n_channels, 2, frame), dtype=np.float32)
        self._scalars = np.zeros((n_channels, SCALAR_SLOTS), dtype=np.float64)
        self._scalars[:, LEAK] = LEAK_INITIAL
        self._scalars[:, OUT_LEAK] = LEAK_INITIAL
        self._frame_index = 0

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Cancel one frame per channel: int16 [n_channels, frame] in, the same shape out."""
        shape = (self.n_channels, self.frame)
        near = np.ascontiguousarray(near, dtype=np.int16)
        far = np.ascontiguousarray(far, dtype=np.int16)
        if near.shape != shape or far.shape != shape:
            raise ValueError(f"near and far must have shape {shape}: {near.shape}, {far.shape}")
        out = np.empty(shape, dtype=np.int16)
        _cancel_bank(
            near,
            far,
            out,
            self._spectra,
            self._bins,
            self._blocks,
            self._scalars,
            self.suppress,
            self.adapt,
            self._frame_index,
        )
        self._frame_index += 1
        return out

    def impulse_response(self, channel: int = 0) -> np.ndarray:
        """The foreground filter of *channel* as time-domain taps (float32, tail_taps long)."""
        parts = np.fft.irfft(self._spectra[channel, FOREGROUND], 2 * self.frame, axis=-1)
        return parts[:, : self.frame].reshape(-1)

    def delay_samples(self, channel: int = 0) -> int:
        """Bulk delay of the echo path: the position of the filter's strongest tap."""
        return int(np.argmax(np.abs(self.impulse_response(channel))))

    def delay_ms(self, channel: int = 0) -> float:
        return 1000.0 * self.delay_samples(channel) / self.clock_rate

    def reset(self, channel: int) -> None:
        """Forget what *channel* learnt (a new call on that leg)."""
        self._spectra[channel] = 0
        self._bins[channel] = 0
        self._blocks[channel] = 0
        self._scalars[channel] = 0
        self._scalars[channel, LEAK] = LEAK_INITIAL
        self._scalars[channel, OUT_LEAK] = LEAK_INITIAL


class EchoCanceller:
    """The echo canceller of one call leg: ``process(near, far)`` per frame of int16 samples."""

    def __init__(
        self,
        clock_rate: int = CLOCK_RATE,
        tail_ms: int = 128,
        frame: int = 160,
        suppress: bool = True,
    ) -> None:
        self._bank = EchoCancellerBank(1, clock_rate, tail_ms, frame, suppress)
        self.clock_rate = clock_rate
        self.frame = frame

    @property
    def suppress(self) -> bool:
        return self._bank.suppress

    @suppress.setter
    def suppress(self, enabled: bool) -> None:
        self._bank.suppress = enabled

    @property
    def adapt(self) -> bool:
        """False freezes the filters (G.168's h-register freeze)."""
        return self._bank.adapt

    @adapt.setter
    def adapt(self, enabled: bool) -> None:
        self._bank.adapt = enabled

    @property
    def tail_taps(self) -> int:
        return self._bank.tail_taps

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Cancel one frame: *near* (what came back) minus the echo of *far*; int16 [frame]."""
        near = np.ascontiguousarray(near, dtype=np.int16)
        far = np.ascontiguousarray(far, dtype=np.int16)
        if near.shape != (self.frame,) or far.shape != (self.frame,):
            raise ValueError(
                f"near and far must have {self.frame} samples: {near.shape}, {far.shape}"
            )
        bank = self._bank
        out = _cancel_one(
            near,
            far,
            bank._spectra,
            bank._bins,
            bank._blocks,
            bank._scalars,
            bank.suppress,
            bank.adapt,
            bank._frame_index,
        )
        bank._frame_index += 1
        return out

    @property
    def delay_samples(self) -> int:
        """Estimated bulk delay of the echo path, in samples."""
        return self._bank.delay_samples(0)

    @property
    def delay_ms(self) -> float:
        """Estimated bulk delay of the echo path, in milliseconds."""
        return self._bank.delay_ms(0)

    def impulse_response(self) -> np.ndarray:
        return self._bank.impulse_response(0)

    def reset(self) -> None:
        self._bank.reset(0)
