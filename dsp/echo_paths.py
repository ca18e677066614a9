"""Synthetic echo paths in the style of ITU-T G.168 and the echo scenarios built from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.clock import CLOCK_RATE


def _band_pass(clock_rate: int, low_hz: float = 200.0, high_hz: float = 3400.0) -> np.ndarray:
    """A short windowed-sinc band-pass, the shape of a telephone hybrid's response."""
    taps = 31
    n = np.arange(taps) - taps // 2
    high = min(high_hz, 0.45 * clock_rate)

    def low_pass(cutoff: float) -> np.ndarray:
        taps: np.ndarray = 2 * cutoff / clock_rate * np.sinc(2 * cutoff / clock_rate * n)
        return taps

    band: np.ndarray = (low_pass(high) - low_pass(low_hz)) * np.hamming(taps)
    return band


def echo_path(
    clock_rate: int = CLOCK_RATE,
    delay_ms: float = 16.0,
    dispersion_ms: float = 6.0,
    erl_db: float = 12.0,
    seed: int = 0,
) -> np.ndarray:
    """A dispersive echo path: bulk delay, then a decaying band-limited response.

    The response is scaled so that white noise returns *erl_db* below its level (the path's
    echo return loss); the bulk delay is the position of its first tap.
    """
    rng = np.random.default_rng(seed)
    length = max(8, int(dispersion_ms * clock_rate / 1000))
    decay = np.exp(-np.arange(length) / (length / 4.0))
    body = np.convolve(rng.standard_normal(length) * decay, _band_pass(clock_rate))
    body *= 10 ** (-erl_db / 20) / np.sqrt(np.sum(body**2))
    delay = round(delay_ms * clock_rate / 1000)
    return np.concatenate([np.zeros(delay), body])


def erl_db(path: np.ndarray) -> float:
    """Echo return loss of *path* for white noise, in dB."""
    return float(-10 * np.log10(np.sum(np.asarray(path, dtype=np.float64) ** 2)))


@dataclass(frozen=True)
class EchoScenario:
    """The signals of one test call: what the canceller sees and what it should give back."""

    far: np.ndarray  # int16, sent to the caller (the canceller's reference)
    near: np.ndarray  # int16, what comes back: echo + near-end speech + noise
    echo: np.ndarray  # float64, the echo part of *near*
    near_speech: np.ndarray  # float64, the caller's own speech in *near*
    noise: np.ndarray  # float64, line noise in *near*
    clock_rate: int


def echo_of(far: np.ndarray, path: np.ndarray) -> np.ndarray:
    """The echo of *far* through *path* (float64, same length as *far*)."""
    return np.convolve(np.asarray(far, dtype=np.float64), path)[: len(far)]


def build_scenario(
    far: np.ndarray,
    paths: list[np.ndarray],
    near_speech: np.ndarray | None = None,
    noise_dbfs: float = -65.0,
    clock_rate: int = CLOCK_RATE,
    seed: int = 1,
) -> EchoScenario:
    """Mix far-end echo (switching between *paths* in equal parts), near speech and noise."""
    far = np.asarray(far, dtype=np.int16)
    pieces = np.array_split(np.arange(len(far)), len(paths))
    echo = np.zeros(len(far))
    for path, piece in zip(paths, pieces, strict=True):
        full = echo_of(far, path)
        echo[piece] = full[piece]
    speech = np.zeros(len(far)) if near_speech is None else np.asarray(near_speech, np.float64)
    speech = speech[: len(far)]
    speech = np.pad(speech, (0, len(far) - len(speech)))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(far)) * 32768 * 10 ** (noise_dbfs / 20)
    mixed = np.clip(np.round(echo + speech + noise), -32768, 32767).astype(np.int16)
    return EchoScenario(far, mixed, echo, speech, noise, clock_rate)
