"""Test speech and noise for DSP tests and benchmarks: espeak-ng renders (cached under
var/cache/test-speech), Debian's pocketsphinx-testdata recordings, labelled mixtures."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from dsp.clock import CLOCK_RATE, FRAME_MS
from dsp.resample import Resampler
from ivr.prompts import read_wav

CACHE = Path(__file__).resolve().parents[2] / "var" / "cache" / "test-speech"

PASSAGES = {
    "en": (
        "Hello, thank you for calling. Please say or key in your account number, followed by "
        "the hash key. I would like to talk to somebody about my bill, it is much higher than "
        "last month. Seven, three, nine, one, zero, four, eight, two, six, five. Can you hear "
        "me now? The quick brown fox jumps over the lazy dog while the telephone keeps ringing."
    ),
    "it": (
        "Buongiorno, grazie per aver chiamato. Vorrei parlare con un operatore della mia "
        "bolletta, che è molto più alta del mese scorso. Il mio numero di conto è sette, tre, "
        "nove, uno, zero, quattro, otto, due. Mi sente adesso? Per favore mi richiami domani."
    ),
    "ko": (
        "안녕하세요, 전화해 주셔서 감사합니다. 계좌 번호를 말씀하시거나 입력해 주세요. "
        "요금이 지난달보다 훨씬 많이 나왔어요. 칠, 삼, 구, 일, 영, 사, 팔, 이. "
        "지금 제 말 들리세요? 내일 아침에 다시 전화 주세요."
    ),
}


def espeak(
    text: str,
    voice: str = "en-us",
    pitch: int = 50,
    amplitude: int = 100,
    words_per_minute: int = 160,
    clock_rate: int = CLOCK_RATE,
) -> np.ndarray:
    """int16 speech from espeak-ng with explicit pitch (-p 0..99) and amplitude (-a 0..200)."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("test speech needs espeak-ng and sox: apt-get install espeak-ng sox")
    key = hashlib.sha1(
        f"{voice}|{pitch}|{amplitude}|{words_per_minute}|{clock_rate}|{text}".encode()
    )
    target = CACHE / f"espeak-{key.hexdigest()[:16]}.wav"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            raw, staged = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-p", str(pitch), "-a", str(amplitude),
                 "-s", str(words_per_minute), "-w", str(raw), text],
                check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                ["sox", str(raw), "-r", str(clock_rate), "-c", "1", "-b", "16",
                 "-e", "signed-integer", str(staged)],
                check=True, capture_output=True,
            )  # fmt: skip
            shutil.move(staged, target)
    samples, _ = read_wav(target)
    return samples


VOICES = [("en", "en-us"), ("en", "en-us+f3"), ("it", "it"), ("ko", "ko"), ("en", "en-us+m3")]
#: Active speech level of the mixtures (RMS over speech frames, full-scale sine = 0 dBFS).
SPEECH_DBFS = -20.0
#: A frame is labelled speech when its clean speech is within this many dB of the active level.
LABEL_RANGE_DB = 30.0
#: Pauses shorter than this (200 ms: between words, at commas) belong to the utterance.
BRIDGED_GAP_FRAMES = 10


RECORDINGS = Path("/usr/share/pocketsphinx/test/data")


def recordings(clock_rate: int = CLOCK_RATE) -> list[np.ndarray]:
    """Real English recordings from Debian's pocketsphinx-testdata (16 kHz), at *clock_rate*."""
    files = sorted((RECORDINGS / "librivox").glob("*.wav")) + sorted(RECORDINGS.glob("*.raw"))
    if not files:
        raise RuntimeError(
            "real recordings need Debian's pocketsphinx-testdata: "
            "apt-get install pocketsphinx-testdata"
        )
    result = []
    for path in files:
        if path.suffix == ".wav":
            samples, rate = read_wav(path)
        else:
            samples, rate = np.fromfile(path, dtype="<i2"), 16000
        if rate == 16000 and clock_rate == 8000:
            samples = Resampler(16000, 8000).process(samples[: len(samples) // 2 * 2])
        result.append(samples)
    return result


def utterances(count: int, clock_rate: int = CLOCK_RATE) -> list[np.ndarray]:
    """*count* short espeak utterances, cycling through voices and locales."""
    sentences = {
        locale: [s.strip() for s in text.replace("?", ".").split(".") if len(s.strip()) > 8]
        for locale, text in PASSAGES.items()
    }
    result = []
    for i in range(count):
        locale, voice = VOICES[i % len(VOICES)]
        options = sentences[locale]
        result.append(espeak(options[i % len(options)], voice=voice, clock_rate=clock_rate))
    return result


def noise(kind: str, length: int, clock_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise: "white", "pink" (1/f), "hum" (50 Hz mains harmonics plus hiss) or
    "babble-residual" (quiet echo-canceller-like residual: speech-shaped, low level)."""
    if kind == "white":
        x = rng.standard_normal(length)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(length))
        f = np.maximum(np.fft.rfftfreq(length, 1 / clock_rate), 20.0)
        x = np.fft.irfft(spectrum / np.sqrt(f), length)
    elif kind == "hum":
        t = np.arange(length) / clock_rate
        x = np.zeros(length)
        for h in (1, 3, 5, 7, 9):
            x = x + np.sin(2 * np.pi * 50 * h * t + h) / h
        x = x / np.sqrt(np.mean(x**2)) + 0.3 * rng.standard_normal(length)
    else:
        raise ValueError(f"unknown noise {kind!r}")
    unit: np.ndarray = x / np.sqrt(np.mean(x**2))
    return unit


def frame_levels_db(x: np.ndarray, frame: int) -> np.ndarray:
    frames = x[: len(x) // frame * frame].reshape(-1, frame).astype(np.float64)
    levels: np.ndarray = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    return levels


def bridge_gaps(labels: np.ndarray, frames: int) -> np.ndarray:
    """*labels* with runs of False shorter than *frames* between two True frames set True."""
    result = labels.copy()
    speech = np.flatnonzero(labels)
    for before, after in itertools.pairwise(speech):
        if 1 < after - before <= frames:
            result[before:after] = True
    return result


def labelled_mixture(
    snr_db: float,
    kind: str = "white",
    clock_rate: int = CLOCK_RATE,
    count: int = 10,
    seed: int = 0,
    real: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(int16 samples, bool label per 20 ms frame): utterances (espeak-ng, or with *real* the
    pocketsphinx-testdata recordings) separated by 0.4-1.6 s pauses after a 1 s lead-in, all
    in *kind* noise at *snr_db* below the active speech level."""
    rng = np.random.default_rng(seed)
    frame = clock_rate * FRAME_MS // 1000
    pieces = [np.zeros(clock_rate)]
    material = recordings(clock_rate) if real else utterances(count, clock_rate)
    for utterance in material:
        pieces.append(utterance.astype(np.float64))
        pieces.append(np.zeros(frame * rng.integers(20, 80)))
    speech = np.concatenate(pieces)
    speech = np.concatenate([speech, np.zeros(-len(speech) % frame)])
    levels = frame_levels_db(speech, frame)
    active = levels > levels.max() - 40
    active_rms = np.sqrt(np.mean(10 ** (levels[active] / 10)))
    target_rms = 32768 / np.sqrt(2) * 10 ** (SPEECH_DBFS / 20)
    speech *= target_rms / active_rms
    levels = frame_levels_db(speech, frame)
    labels = bridge_gaps(levels > 20 * np.log10(target_rms) - LABEL_RANGE_DB, BRIDGED_GAP_FRAMES)
    mixed = speech + noise(kind, len(speech), clock_rate, rng) * target_rms / 10 ** (snr_db / 20)
    return np.clip(np.rint(mixed), -32768, 32767).astype(np.int16), labels
