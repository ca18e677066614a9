"""Prompt audio: text rendered by espeak-ng per locale, or recordings uploaded by admins.

Both are converted by sox and kept on disk. A rendered prompt is a mono 16-bit WAV at the
call's clock rate, named by a hash of (text, locale, voice, rate) so that the same prompt is
rendered once per installation. A recording is checked (clear errors for bad files), converted
to mono 16-bit and levelled when it is uploaded, and wins over rendered speech.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp.clock import CLOCK_RATE

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
    text: str,
    locale: str,
    cache_dir: Path,
    clock_rate: int = CLOCK_RATE,
    words_per_minute: int = 160,
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


def speech_samples(
    text: str, locale: str, cache_dir: Path, clock_rate: int = CLOCK_RATE
) -> np.ndarray:
    """Rendered speech as int16 samples, e.g. for tests and benchmarks."""
    samples, _ = read_wav(render_prompt(text, locale, cache_dir, clock_rate))
    return samples


# --- recorded prompts ------------------------------------------------------------------------

#: Limits for an uploaded recording.
MAX_RECORDING_BYTES = 10 * 1024 * 1024
RECORDING_SECONDS = (0.3, 60.0)
MIN_RECORDING_RATE = 8000
#: Peak below this (int16) is silence: about -50 dBFS.
SILENCE_PEAK = 100
#: Recordings are levelled to this peak (-3 dBFS) so they sound like the rendered prompts.
TARGET_PEAK = int(32767 * 10 ** (-3 / 20))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: A recording uploaded from the console: ``<prompt>.<locale>.<hex>.wav`` (the hex is a digest
#: of its audio, so a file never changes once a flow version names it).
RECORDING_FILE = re.compile(r"^[a-z][a-z0-9_]{0,39}\.[a-z]{2}\.[0-9a-f]{8,64}\.wav$")


@dataclass(frozen=True)
class RecordingInfo:
    """What sox says about an audio file."""

    channels: int
    clock_rate: int
    seconds: float


def inspect_recording(path: Path) -> RecordingInfo:
    """Channels, rate and duration of any file sox can read; PromptError if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise PromptError(f"{path.name}: no such file")
    soxi = _require("soxi")
    fields = []
    for flag in ("-c", "-r", "-D"):
        done = subprocess.run([soxi, flag, str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["unknown format"])[-1]
            reason = reason.removeprefix("soxi FAIL formats: ").strip()
            raise PromptError(f"{path.name}: not an audio file sox can read ({reason})")
        fields.append(done.stdout.strip())
    try:
        return RecordingInfo(int(fields[0]), int(float(fields[1])), float(fields[2]))
    except ValueError:
        raise PromptError(f"{path.name}: sox reported no duration or rate") from None


def recording_path(recordings_dir: Path, flow: str, prompt_id: str, locale: str) -> Path:
    """Where the recording uploaded for a flow's prompt in a locale lives."""
    for what, name in (("flow", flow), ("prompt", prompt_id), ("locale", locale)):
        if not _NAME.match(name):
            raise PromptError(f"{what} name {name!r} is not usable in a file name")
    return Path(recordings_dir) / flow / f"{prompt_id}.{locale}.wav"


def check_recording(source: Path) -> RecordingInfo:
    """Refuse (PromptError naming the file and why) a file too large, not audio, too short or
    long, below telephone quality or more than stereo; else what sox says about it."""
    source = Path(source)
    if source.is_file() and source.stat().st_size > MAX_RECORDING_BYTES:
        limit = MAX_RECORDING_BYTES // (1024 * 1024)
        raise PromptError(f"{source.name}: larger than {limit} MB")
    info = inspect_recording(source)
    low, high = RECORDING_SECONDS
    if not low <= info.seconds <= high:
        raise PromptError(
            f"{source.name}: {info.seconds:.1f} s long; a prompt lasts {low:g} to {high:g} s"
        )
    if info.clock_rate < MIN_RECORDING_RATE:
        raise PromptError(
            f"{source.name}: sampled at {info.clock_rate} Hz; at least {MIN_RECORDING_RATE} Hz"
        )
    if info.channels > 2:
        raise PromptError(f"{source.name}: {info.channels} channels; mono or stereo only")
    return info


def convert_recording(source: Path, work_dir: Path, clock_rate: int = CLOCK_RATE) -> Path:
    """A checked recording (`check_recording`) converted by sox to mono 16-bit at
    *clock_rate* and levelled, as ``work_dir/prompt.wav``; PromptError if silent or broken."""
    check_recording(source)
    sox = _require("sox")
    converted = Path(work_dir) / "converted.wav"
    done = subprocess.run(
        [sox, "-D", str(source), "-r", str(clock_rate), "-c", "1", "-b", "16",
         "-e", "signed-integer", str(converted)],
        capture_output=True,
        text=True,
    )  # fmt: skip  (-D: no random dither, so the same upload gives the same samples)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["conversion failed"])[-1]
        raise PromptError(f"{source.name}: sox could not convert it ({reason})")
    samples, _ = read_wav(converted)
    converted.unlink()
    peak = int(np.max(np.abs(samples.astype(np.int32)))) if len(samples) else 0
    if peak < SILENCE_PEAK:
        raise PromptError(f"{source.name}: the recording is silent")
    levelled = np.clip(samples.astype(np.float64) * (TARGET_PEAK / peak), -32768, 32767)
    return write_wav(Path(work_dir) / "prompt.wav", levelled.astype(np.int16), clock_rate)


def import_recording(
    source: Path,
    recordings_dir: Path,
    flow: str,
    prompt_id: str,
    locale: str,
    clock_rate: int = CLOCK_RATE,
) -> Path:
    """Check an uploaded recording and store it as the prompt's audio (mono 16-bit, levelled).

    Refuses, with a PromptError naming the file and the reason, anything sox cannot read, too
    short or too long, below telephone quality, more than stereo, too large, or silent.
    Nothing is stored when a check fails.
    """
    source = Path(source)
    target = recording_path(recordings_dir, flow, prompt_id, locale)
    with tempfile.TemporaryDirectory() as tmp:
        staged = convert_recording(source, Path(tmp), clock_rate)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, target)
    return target


def prompt_audio(
    prompt_id: str,
    text: str,
    locale: str,
    flow: str,
    recordings_dir: Path | None,
    cache_dir: Path,
    clock_rate: int = CLOCK_RATE,
    recording: str | None = None,
) -> Path:
    """The WAV to play for a prompt: the recording the flow names (*recording*, a file
    uploaded from the console), else one imported for it, else rendered speech."""
    if recordings_dir is not None:
        recorded = recording_path(recordings_dir, flow, prompt_id, locale)
        if recording is not None and RECORDING_FILE.match(recording):
            named = recorded.with_name(recording)
            recorded = named if named.exists() else recorded
        if recorded.exists():
            with wave.open(str(recorded), "rb") as wav:
                rate = wav.getframerate()
            if rate == clock_rate:
                return recorded
            return _resampled(recorded, cache_dir, clock_rate)
    return render_prompt(text, locale, cache_dir, clock_rate)


def _resampled(recorded: Path, cache_dir: Path, clock_rate: int) -> Path:
    stamp = f"{recorded.resolve()}|{recorded.stat().st_mtime_ns}|{clock_rate}"
    target = Path(cache_dir) / f"rec-{hashlib.sha1(stamp.encode()).hexdigest()[:16]}.wav"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "prompt.wav"
            subprocess.run(
                [_require("sox"), str(recorded), "-r", str(clock_rate), str(staged)],
                check=True,
                capture_output=True,
            )
            shutil.move(staged, target)
    return target
