"""Echo paths for testing echo cancellers and the echo scenarios built from them: synthetic
G.168-style hybrids, the G.168 Annex D impulse responses, G.711 in the loop and loudspeaker
nonlinearity."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dsp.clock import CLOCK_RATE
from dsp.g711 import ulaw_decode, ulaw_encode

#: Where Debian's libspandsp-dev installs the G.168 test data (Annex D echo paths, the
#: composite source signal's voiced sections of Annex C, the level meter's band-pass).
G168_HEADER = Path("/usr/include/spandsp/g168models.h")


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


# --- G.168 test data ------------------------------------------------------------------------


def header_arrays(header: Path) -> dict[str, np.ndarray]:
    """Every ``const <type> name[] = {...};`` array and ``#define NAME number`` in *header*."""
    if not header.exists():
        raise RuntimeError(f"the G.168 test data needs {header}: apt-get install libspandsp-dev")
    text = re.sub(r"/\*.*?\*/", " ", header.read_text(), flags=re.S)
    found: dict[str, np.ndarray] = {}
    for name, body in re.findall(
        r"const\s+\w+\s+(\w+)\[\](?:\[\d+\])?\s*=\s*\{(.*?)\};", text, re.S
    ):
        numbers = re.findall(r"-?\d+(?:\.\d*)?(?:[eE]-?\d+)?", body)
        found[name] = np.array([float(x) for x in numbers])
    for name, value in re.findall(r"#define\s+(\w+)\s+(-?[\d.]+[eE]?-?\d*)f?", text):
        found[name] = np.array([float(value)])
    return found


def g168_models(header: Path = G168_HEADER) -> dict[int, np.ndarray]:
    """The echo path impulse responses of G.168 Annex D (D.2 ... D.9, 8 kHz), each scaled by
    its Annex D factor so that it has the echo return loss the Annex gives it (about 6 dB)."""
    arrays = header_arrays(header)
    models = {}
    for number in range(2, 10):
        taps = arrays[f"line_model_d{number}_coeffs"]
        gain = float(arrays[f"LINE_MODEL_D{number}_GAIN"][0])
        models[number] = taps * gain
    return models


def g168_path(number: int, erl: float, delay_ms: float = 0.0) -> np.ndarray:
    """G.168 Annex D model *number* (2..9) at *erl* dB of echo return loss (as G.168 and
    spandsp scale it: the Annex factor times 10^(-erl/20)), after *delay_ms* of bulk delay."""
    models = g168_models()
    if number not in models:
        raise ValueError(f"G.168 Annex D has models 2..9, not {number}")
    delay = round(delay_ms * 8000 / 1000)
    return np.concatenate([np.zeros(delay), models[number] * 10 ** (-erl / 20)])


# --- what happens to the signals on their way --------------------------------------------------


def through_ulaw(signal: np.ndarray) -> np.ndarray:
    """*signal* (float or int16) after G.711 µ-law encoding and decoding, as float64."""
    pcm = np.clip(np.round(np.asarray(signal, dtype=np.float64)), -32768, 32767).astype(np.int16)
    decoded: np.ndarray = ulaw_decode(ulaw_encode(pcm)).astype(np.float64)
    return decoded


def soft_clip(signal: np.ndarray, ceiling: float) -> np.ndarray:
    """A small loudspeaker driven hard: tanh saturation towards *ceiling* (linear samples)."""
    result: np.ndarray = ceiling * np.tanh(np.asarray(signal, dtype=np.float64) / ceiling)
    return result


def hard_clip(signal: np.ndarray, ceiling: float) -> np.ndarray:
    """An amplifier's rails: samples beyond +-*ceiling* are cut off."""
    result: np.ndarray = np.clip(np.asarray(signal, dtype=np.float64), -ceiling, ceiling)
    return result


def echo_of(far: np.ndarray, path: np.ndarray) -> np.ndarray:
    """The echo of *far* through *path* (float64, same length as *far*)."""
    return np.convolve(np.asarray(far, dtype=np.float64), path)[: len(far)]


@dataclass(frozen=True)
class EchoScenario:
    """The signals of one test call: what the canceller sees and what it should give back."""

    far: np.ndarray  # int16, sent to the caller (the canceller's reference)
    near: np.ndarray  # int16, what comes back: echo + near-end speech + noise
    echo: np.ndarray  # float64, the echo part of *near*
    near_speech: np.ndarray  # float64, the caller's own speech in *near*
    noise: np.ndarray  # float64, line noise in *near*
    clock_rate: int
    #: how *near* is made from its parts (G.711 on the way back, for instance)
    line: Callable[[np.ndarray], np.ndarray] = field(default=lambda x: x, compare=False)

    def mixed(self, caller_sign: float = 1.0, noise_sign: float = 1.0) -> np.ndarray:
        """*near* again with the caller's speech and the noise multiplied by the signs given
        (the phase-inversion method separates them in a canceller's output)."""
        total = self.echo + caller_sign * self.near_speech + noise_sign * self.noise
        line = np.clip(np.round(self.line(total)), -32768, 32767).astype(np.int16)
        return line


def build_scenario(
    far: np.ndarray,
    paths: list[np.ndarray],
    near_speech: np.ndarray | None = None,
    noise_dbfs: float = -65.0,
    clock_rate: int = CLOCK_RATE,
    seed: int = 1,
    loudspeaker: Callable[[np.ndarray], np.ndarray] | None = None,
    ulaw: bool = False,
) -> EchoScenario:
    """Mix far-end echo (switching between *paths* in equal parts), near speech and noise.

    *loudspeaker* distorts the far end before the echo path (clipping, saturation); *ulaw*
    puts G.711 in the loop: the far end reaches the echo path µ-law coded, and what comes
    back is µ-law coded again (the canceller's reference stays the linear far end).
    """
    far = np.asarray(far, dtype=np.int16)
    driven = far.astype(np.float64)
    if ulaw:
        driven = through_ulaw(driven)
    if loudspeaker is not None:
        driven = loudspeaker(driven)
    pieces = np.array_split(np.arange(len(far)), len(paths))
    echo = np.zeros(len(far))
    for path, piece in zip(paths, pieces, strict=True):
        full = echo_of(driven, path)
        echo[piece] = full[piece]
    speech = np.zeros(len(far)) if near_speech is None else np.asarray(near_speech, np.float64)
    speech = speech[: len(far)]
    speech = np.pad(speech, (0, len(far) - len(speech)))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(far)) * 32768 * 10 ** (noise_dbfs / 20)
    line: Callable[[np.ndarray], np.ndarray] = through_ulaw if ulaw else (lambda x: x)
    mixed = np.clip(np.round(line(echo + speech + noise)), -32768, 32767).astype(np.int16)
    return EchoScenario(far, mixed, echo, speech, noise, clock_rate, line)
