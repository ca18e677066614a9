"""Audio checks on test-phone recordings: tone detection (Goertzel) and prompt correlation."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np

from dsp.clock import CLOCK_RATE
from ivr.prompts import read_wav


def recording(path: str | Path, timeout: float = 3.0) -> np.ndarray:
    """Samples of a phone's recording; pjmedia completes the WAV header on close, so poll."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples, rate = read_wav(Path(path))
            break
        except (wave.Error, EOFError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert rate == CLOCK_RATE, f"{path}: recorded at {rate} Hz, expected {CLOCK_RATE}"
    return samples.astype(np.float64)


def goertzel_power(block: np.ndarray, freq: float, rate: int = CLOCK_RATE) -> float:
    """Power of *block* at *freq* (Goertzel), normalised by the block's length."""
    coeff = 2.0 * np.cos(2.0 * np.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    return float(s1 * s1 + s2 * s2 - coeff * s1 * s2) / len(block)


def tone_share(samples: np.ndarray, freq: float, rate: int = CLOCK_RATE, block: int = 400) -> float:
    """Largest share (0..1) of a 50 ms block's energy that sits at *freq*, over the recording."""
    best = 0.0
    for start in range(0, len(samples) - block, block):
        chunk = samples[start : start + block]
        energy = float(np.dot(chunk, chunk))
        if energy < block * 100.0**2:  # below ~-50 dBFS: silence, skip
            continue
        best = max(best, 2.0 * goertzel_power(chunk, freq, rate) / energy)
    return best


def correlation_peak(heard: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of *reference* within *heard*, and its lag (samples)."""
    n = len(heard) + len(reference)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(heard, size) * np.conj(np.fft.rfft(reference, size))
    xcorr = np.fft.irfft(spectrum, size)[: len(heard)]
    lag = int(np.argmax(xcorr))
    window = heard[lag : lag + len(reference)]
    ref = reference[: len(window)]
    denominator = float(np.linalg.norm(window) * np.linalg.norm(ref))
    return (float(np.dot(window, ref)) / denominator if denominator else 0.0), lag


STEADY_DBFS = -20.0  # a test phone's tone arrives at about -12 dBFS
STEADY_BLOCKS = 10
#: How far a tone stands above the band beside it (`tone_dbfs`'s *controls*): a 50 ms block of
#: a steady tone puts nothing on another whole bin, a click puts as much there as on the tone.
NARROWBAND_MARGIN_DB = 10.0


def tone_dbfs(
    samples: np.ndarray,
    freq: float,
    rate: int = CLOCK_RATE,
    block: int = 400,
    after_tone: float | None = None,
    share: float = 1.0,
    controls: tuple[float, ...] = (),
    margin_db: float = NARROWBAND_MARGIN_DB,
) -> tuple[float, int]:
    """The loudest 50 ms block's level at *freq* in dBFS of a sine, and how many blocks were
    measured. With *after_tone*, measuring starts once that tone is steady (``STEADY_BLOCKS``
    blocks in a row above ``STEADY_DBFS``; its onset block is skipped): e.g. from the other
    party's tone on, the bridged part of a call, not its prompts. Everything after, a leak
    included, is measured (the last block, the hang-up, is left out). With *share* below 1,
    the level at the *share* quantile (0.7: 70 % of blocks are at or below it), so a glitch of
    a few blocks (a late burst of packets on a loaded machine) does not count, a steady leak
    does. With *controls* (frequencies near *freq*), only a tone counts: a block's level at
    *freq* is taken as nothing unless it stands *margin_db* above each control's level in
    the same block, so a click or a burst of noise (flat across the band) is not mistaken for
    a tone at *freq*, while a tone at *freq* is measured whatever the noise beside it."""
    starts = list(range(0, len(samples) - block, block))
    levels = [goertzel_power(samples[s : s + block], freq, rate) * 4.0 / block for s in starts]
    if controls:
        margin = 10 ** (margin_db / 10)
        beside = [max(goertzel_power(samples[s : s + block], c, rate) * 4.0 / block
                      for c in controls) for s in starts]
        levels = [level if level > margin * other else 0.0
                  for level, other in zip(levels, beside, strict=True)]
    first = 0
    if after_tone is not None:
        steady = [
            goertzel_power(samples[s : s + block], after_tone, rate) * 4.0 / block
            > 32768.0**2 * 10 ** (STEADY_DBFS / 10)
            for s in starts
        ]
        first = next(
            (i + 1 for i in range(len(steady)) if all(steady[i : i + STEADY_BLOCKS])), len(steady)
        )
    measured = levels[first:-1]
    loudest = float(np.quantile(measured, share)) if measured else 0.0
    level = 10.0 * float(np.log10(loudest / 32768.0**2)) if loudest > 0 else float("-inf")
    return level, len(measured)
