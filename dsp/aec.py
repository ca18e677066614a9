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
  when it has clearly diverged. A learnt foreground that adds echo instead of removing it
  means the echo path changed: both filters and both leakage regressions start again from
  zero. One that suddenly removes little although what comes back is no louder against the
  far end than the echo alone was (a caller would make it louder) restarts the fast warm-up
  step. The background's step never falls below MU_MIN, nor below MU_MIN_ALONE once the far
  end has talked alone for ALONE_STEP_FRAMES (no caller to leak into the filter then);
- an optional residual-echo suppressor: a per-bin gain from the residual echo estimated by the
  same regression on the output.

Both signals are pre-emphasised (speech is flatter, the per-bin steps better balanced) and the
output de-emphasised. Each partition of the background is made causal again every
CONSTRAINT_STRIDE frames, in turn. The bulk delay is read from the foreground's impulse
response (its strongest tap).

All channels' state lives in a few arrays with a leading channel axis, so that a bank of
channels is processed frame by frame in one numba call; a single channel is a bank of one.

This module owns the public classes and the per-frame driver; the kernels live beside it:
``dsp.aec_state`` (array layout, tuning), ``dsp.aec_filter`` (far history, echo estimates,
the background's step), ``dsp.aec_paths`` (two-path control, path changes) and
``dsp.aec_suppressor`` (the residual-echo suppressor).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.aec_filter import _filter, _push_far
from dsp.aec_paths import _adapt
from dsp.aec_state import (
    BIN_PLANES,
    FOREGROUND,
    FRAMES,
    LAST_OUT,
    LEAK,
    LEAK_INITIAL,
    OUT_LEAK,
    PRE_EMPHASIS,
    SCALAR_SLOTS,
)
from dsp.aec_suppressor import _suppress
from dsp.clock import CLOCK_RATE


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
