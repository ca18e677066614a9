"""Test speech and noise for DSP tests and benchmarks: espeak-ng renders (cached under
var/cache/test-speech), Debian's pocketsphinx-testdata recordings (split into a tuning and a
held-out scoring set), labelled mixtures, and G.168's composite source signal, Hoth-like noise
and level meter."""

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
#: Recordings kept apart: "tune" may be looked at while tuning a detector or canceller,
#: "score" only by the benchmarks (held out). Each has read speech (one LibriVox reader) and
#: other speakers (an4-style commands, spelled card names).
RECORDING_SPLITS = {
    "tune": ["librivox/*-0870.wav", "librivox/*-0890.wav", "librivox/*-0930.wav",
             "cards/001.wav", "cards/002.wav", "goforward.raw"],
    "score": ["librivox/*-0880.wav", "librivox/*-0920.wav", "cards/003.wav", "cards/004.wav",
              "cards/005.wav", "numbers.raw", "something.raw"],
}  # fmt: skip


def _recording_files(split: str) -> list[Path]:
    if split == "all":  # what the DSP tests have always used
        return sorted((RECORDINGS / "librivox").glob("*.wav")) + sorted(RECORDINGS.glob("*.raw"))
    if split not in RECORDING_SPLITS:
        raise ValueError(f"recording split is 'tune', 'score' or 'all', not {split!r}")
    return [
        path for pattern in RECORDING_SPLITS[split] for path in sorted(RECORDINGS.glob(pattern))
    ]


def recordings(clock_rate: int = CLOCK_RATE, split: str = "all") -> list[np.ndarray]:
    """Real English recordings from Debian's pocketsphinx-testdata (16 kHz), at *clock_rate*:
    the *split* "tune", "score" (held out, for benchmarks) or "all" (LibriVox and the raw
    commands, what the DSP tests use)."""
    files = _recording_files(split)
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
    """Unit-RMS noise: "white", "pink" (1/f), "brown" (1/f², a fan or traffic in the room),
    "hum" (50 Hz mains harmonics plus hiss) or
    "babble-residual" (quiet echo-canceller-like residual: speech-shaped, low level)."""
    if kind == "white":
        x = rng.standard_normal(length)
    elif kind in ("pink", "brown"):
        spectrum = np.fft.rfft(rng.standard_normal(length))
        f = np.maximum(np.fft.rfftfreq(length, 1 / clock_rate), 20.0)
        x = np.fft.irfft(spectrum / (np.sqrt(f) if kind == "pink" else f), length)
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
    speech_dbfs: float = SPEECH_DBFS,
    material: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(int16 samples, bool label per 20 ms frame): utterances (espeak-ng, or with *real* the
    pocketsphinx-testdata recordings, or the *material* given) separated by 0.4-1.6 s pauses
    after a 1 s lead-in, at *speech_dbfs* active level, in *kind* noise *snr_db* below it."""
    rng = np.random.default_rng(seed)
    frame = clock_rate * FRAME_MS // 1000
    pieces = [np.zeros(clock_rate)]
    if material is None:
        material = recordings(clock_rate) if real else utterances(count, clock_rate)
    for utterance in material:
        pieces.append(utterance.astype(np.float64))
        pieces.append(np.zeros(frame * rng.integers(20, 80)))
    speech = np.concatenate(pieces)
    speech = np.concatenate([speech, np.zeros(-len(speech) % frame)])
    levels = frame_levels_db(speech, frame)
    active = levels > levels.max() - 40
    active_rms = np.sqrt(np.mean(10 ** (levels[active] / 10)))
    target_rms = 32768 / np.sqrt(2) * 10 ** (speech_dbfs / 20)
    speech *= target_rms / active_rms
    levels = frame_levels_db(speech, frame)
    labels = bridge_gaps(levels > 20 * np.log10(target_rms) - LABEL_RANGE_DB, BRIDGED_GAP_FRAMES)
    mixed = speech + noise(kind, len(speech), clock_rate, rng) * target_rms / 10 ** (snr_db / 20)
    return np.clip(np.rint(mixed), -32768, 32767).astype(np.int16), labels


# --- G.168 (ITU-T) echo canceller test signals -------------------------------------------------

#: dBm0 of a full-scale sine is +3.14 (G.711); the RMS of full-scale int16 is 3.02 dB above it.
DBM0_FULL_SCALE_RMS = 3.14 + 3.02
#: G.168 6.4.1.2.1: the level meter integrates power with a 35 ms time constant.
METER_TIME_CONSTANT_S = 0.035


def _periodic(period: np.ndarray, source_rate: float, length: int, rate: int) -> np.ndarray:
    """*length* samples at *rate* of the periodic signal one *period* (at *source_rate*) of
    which is given: its Fourier series below half of *rate*, evaluated at the new instants."""
    n = len(period)
    coefficients = np.fft.rfft(period) / n
    harmonics = np.arange(len(coefficients))
    fundamental = source_rate / n
    keep = harmonics * fundamental < 0.5 * rate * 0.95
    t = np.arange(length) / rate
    phases = np.exp(2j * np.pi * fundamental * np.outer(t, harmonics[keep]))
    weights = np.where(harmonics[keep] == 0, 1.0, 2.0) * coefficients[keep]
    result: np.ndarray = (phases @ weights).real
    return result


def _css_mask_db(frequency: np.ndarray) -> np.ndarray:
    """The spectrum G.168 Figure C.2 gives the pseudo-noise part of the composite source
    signal (dB against frequency, straight lines between its breakpoints)."""
    points_hz = [0, 50, 100, 200, 215, 500, 1000, 2850, 3600, 3660, 3680, 4000]
    points_db = [-60, -25.8, -12.8, 17.4, 17.8, 12.2, 7.2, 0.0, -2.0, -20.0, -30.0, -60.0]
    mask: np.ndarray = np.interp(frequency, points_hz, points_db)
    return mask


def composite_source(
    which: str = "c1", seconds: float = 10.0, level_dbm0: float = -10.0, seed: int = 0
) -> np.ndarray:
    """G.168's composite source signal (Annex C) at 8 kHz, float: a voiced section (the pitch
    period of table C.1 or C.3, repeated for 48.62 or 72.69 ms), 200 ms of pseudo-noise shaped
    like Figure C.2 at the voiced section's level, a pause (101.38 or 127.31 ms), then all of
    it again inverted; repeated for *seconds*, its active part at *level_dbm0*."""
    from dsp.echo_paths import G168_HEADER, header_arrays

    shapes = {"c1": ("css_c1", 0.04862, 0.10138), "c3": ("css_c3", 0.07269, 0.12731)}
    if which not in shapes:
        raise ValueError(f"composite source is 'c1' or 'c3', not {which!r}")
    name, voiced_s, pause_s = shapes[which]
    period = header_arrays(G168_HEADER)[name]  # one pitch period at 44.1 kHz
    voiced = _periodic(period, 44100.0, round(voiced_s * 8000), 8000)
    rng = np.random.default_rng(seed)
    noise_len = 1600  # 200 ms
    spectrum = np.fft.rfft(rng.standard_normal(noise_len))
    spectrum *= 10 ** (_css_mask_db(np.fft.rfftfreq(noise_len, 1 / 8000)) / 20)
    noise = np.fft.irfft(spectrum, noise_len)
    noise *= np.sqrt(np.mean(voiced**2) / np.mean(noise**2))
    half = np.concatenate([voiced, noise, np.zeros(round(pause_s * 8000))])
    cycle = np.concatenate([half, -half])
    active = np.concatenate([voiced, noise])
    scale = 32767 * 10 ** ((level_dbm0 - DBM0_FULL_SCALE_RMS) / 20) / np.sqrt(np.mean(active**2))
    count = round(seconds * 8000)
    signal: np.ndarray = np.tile(cycle, count // len(cycle) + 1)[:count] * scale
    return signal


def hoth_noise(length: int, level_dbm0: float, seed: int = 0) -> np.ndarray:
    """Noise with a falling, room-like spectrum at *level_dbm0*: white noise through a
    one-pole low-pass (y = 0.625 y + 0.375 x), the approximation of Hoth noise spandsp uses."""
    from scipy.signal import lfilter

    white = np.random.default_rng(seed).standard_normal(length)
    shaped = lfilter([0.375], [1.0, -0.625], white)
    rms = 32767 * 10 ** ((level_dbm0 - DBM0_FULL_SCALE_RMS) / 20)
    result: np.ndarray = shaped * rms / np.sqrt(np.mean(shaped**2))
    return result


def level_dbm0(signal: np.ndarray) -> np.ndarray:
    """The G.168 6.4.1.2.1 level meter on *signal* (8 kHz): its band-pass, then power
    integrated with a 35 ms time constant; dBm0 per sample (-99 for silence)."""
    from scipy.signal import lfilter

    from dsp.echo_paths import G168_HEADER, header_arrays

    band = header_arrays(G168_HEADER)["level_measurement_bp_coeffs"]
    filtered = np.convolve(np.asarray(signal, dtype=np.float64), band)[: len(signal)]
    factor = np.exp(-1.0 / (8000 * METER_TIME_CONSTANT_S))
    power = lfilter([1 - factor], [1, -factor], filtered**2)
    rms = np.sqrt(np.maximum(power, 0.0))
    levels: np.ndarray = DBM0_FULL_SCALE_RMS + 20 * np.log10(rms / 32767 + 1e-10)
    levels[rms <= 1e-6] = -99.0
    return levels
