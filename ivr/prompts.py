"""Prompt audio: text rendered by espeak-ng per locale, resampled by sox, cached on disk.

A rendered prompt is a mono 16-bit WAV at the call's clock rate, named by a hash of
(text, locale, voice, rate) so that the same prompt is rendered once per installation.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

#: espeak-ng voice per locale we ship.
VOICES: dict[str, str] = {"en": "en-us", "it": "it", "ko": "ko"}


class PromptError(RuntimeError):
    """A prompt could not be rendered or read (missing tool, bad file)."""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PromptError(f"{tool} is not installed: run `apt-get install -y {tool}`")
    return path


def render_prompt(
    text: str, locale: str, cache_dir: Path, clock_rate: int = 8000, words_per_minute: int = 160
) -> Path:
    """Return the cached WAV for *text* spoken in *locale*, rendering it on first use."""
    if locale not in VOICES:
        raise PromptError(f"no voice for locale {locale!r}; known: {', '.join(sorted(VOICES))}")
    key = hashlib.sha1(f"{VOICES[locale]}|{words_per_minute}|{clock_rate}|{text}".encode())
    target = Path(cache_dir) / f"{locale}-{key.hexdigest()[:16]}-{clock_rate}.wav"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    espeak, sox = _require("espeak-ng"), _require("sox")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(
            [espeak, "-v", VOICES[locale], "-s", str(words_per_minute), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        staged = Path(tmp) / "prompt.wav"
        subprocess.run(
            [
                sox,
                str(raw),
                "-r",
                str(clock_rate),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                str(staged),
            ],
            check=True,
            capture_output=True,
        )
        shutil.move(staged, target)  # atomic within one filesystem: readers never see half a file
    return target


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (int16, mono) and clock rate of a PCM WAV file."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise PromptError(f"{path}: expected 16-bit mono PCM")
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2").copy(), wav.getframerate()


def write_wav(path: Path, samples: np.ndarray, clock_rate: int) -> Path:
    """Write int16 mono *samples* as a PCM WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(clock_rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def speech_samples(text: str, locale: str, cache_dir: Path, clock_rate: int = 8000) -> np.ndarray:
    """Rendered speech as int16 samples, e.g. for tests and benchmarks."""
    samples, _ = read_wav(render_prompt(text, locale, cache_dir, clock_rate))
    return samples
