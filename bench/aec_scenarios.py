"""The echo scenarios the echo canceller benchmark scores on: held-out speech (espeak voices
and texts no test or tuning uses, pocketsphinx-testdata's "score" recordings) through echo
paths with G.711, loudspeaker nonlinearity, long tails, double talk and path changes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from dsp.echo_paths import EchoScenario, build_scenario, echo_path, hard_clip, soft_clip
from telephony.testing.signals import espeak, recordings

#: Far-end prompts and caller sentences of the scoring set: texts and voices (en-gb far end,
#: en-us+f4 caller) that neither tests/dsp nor any tuning of dsp/aec.py uses.
SCORE_PROMPTS = [
    "Welcome to the customer service line. Calls may be recorded for training purposes.",
    "For billing questions, press one. For technical support, press two.",
    "All of our advisers are busy at the moment. Your estimated waiting time is four minutes.",
    "You can also manage your account online, at any time of the day or night.",
    "Thank you for waiting. We will connect you to the next available adviser.",
]
SCORE_CALLER = [
    "Yes hello, I moved house last week and my internet stopped working.",
    "The reference on my letter is nine two four, six six one, zero eight.",
    "No, I already tried switching the router off and on again, twice.",
]
FAR_VOICE, CALLER_VOICE = "en-gb", "en-us+f4"
#: The tuning set, never scored: the same scenarios with other texts, voices, recordings and
#: echo-path seeds (``--tune`` runs them; dsp/aec.py is tuned on these and on tests/dsp).
TUNE_PROMPTS = [
    "Hello, thank you for calling. How are you today?",
    "Please say or key in your account number, followed by the hash key.",
    "Your call is important to us. Please stay on the line, an agent will be with you shortly.",
    "To hear these options again, press star. To reach a person, press zero.",
    "We have noticed an unusual payment on your account. Do you recognise it?",
]
TUNE_CALLER = [
    "I am fine thanks, but my bill is much higher than last month.",
    "My account number is seven three nine one zero four eight two.",
    "Can I talk to somebody please? I have been waiting for a long time.",
]
TUNE_FAR_VOICE, TUNE_CALLER_VOICE = "en-us", "en-us+m3"


@dataclass
class Scenario:
    name: str
    signals: EchoScenario
    path: str  # what the echo goes through
    speech: str  # which material
    frame: int = 160
    talk_from_s: float | None = None  # the caller talks from here (double talk)
    change_at_s: float | None = None  # the echo path changes here

    def describe(self) -> dict[str, object]:
        return {
            "path": self.path,
            "speech": self.speech,
            "clock_rate": self.signals.clock_rate,
            "seconds": len(self.signals.far) / self.signals.clock_rate,
            "talk_from_s": self.talk_from_s,
            "change_at_s": self.change_at_s,
        }


def _speech(texts: list[str], voice: str, rate: int, gap_s: float = 0.4) -> np.ndarray:
    pieces = []
    for text in texts:
        pieces.append(espeak(text, voice=voice, clock_rate=rate))
        pieces.append(np.zeros(int(gap_s * rate), np.int16))
    return np.concatenate(pieces)


def _fit(signal: np.ndarray, length: int) -> np.ndarray:
    return np.resize(signal, length)  # repeats when short


def _at_level(signal: np.ndarray, dbfs: float) -> np.ndarray:
    """*signal* scaled to *dbfs* of active level (RMS over its louder half of 20 ms frames)."""
    x = signal.astype(np.float64)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    power = np.mean(frames**2, axis=1)
    active = power[power >= np.median(power)]
    target = 32768 / np.sqrt(2) * 10 ** (dbfs / 20)
    scaled: np.ndarray = x * target / np.sqrt(np.mean(active))
    return scaled


def _caller(words: np.ndarray, length: int, start_s: float, rate: int) -> np.ndarray:
    talk = np.zeros(length)
    begin = int(start_s * rate)
    piece = words[: length - begin]
    talk[begin : begin + len(piece)] = piece
    return talk


def scenarios(seconds: float, split: str = "score") -> list[Scenario]:
    """Every scenario, *seconds* long (the path change twice that), on the held-out "score"
    material or the "tune" material."""
    if split not in ("score", "tune"):
        raise ValueError(f"split is 'score' or 'tune', not {split!r}")
    tune = split == "tune"
    prompts, far_voice = (TUNE_PROMPTS, TUNE_FAR_VOICE) if tune else (SCORE_PROMPTS, FAR_VOICE)
    texts, voice = (TUNE_CALLER, TUNE_CALLER_VOICE) if tune else (SCORE_CALLER, CALLER_VOICE)
    seed = 200 if tune else 100  # echo-path seeds differ too
    n8, n16 = int(seconds * 8000), int(seconds * 16000)
    far8 = _fit(_at_level(_speech(prompts, far_voice, 8000), -16), n8)
    far16 = _fit(_at_level(_speech(prompts, far_voice, 16000), -16), n16)
    real_speech = np.concatenate(recordings(8000, split=split))
    real = _fit(_at_level(real_speech, -16), n8)
    words = _speech(texts, voice, 8000)
    espeak_far = f"espeak {far_voice} prompts ({split} set)"
    path = echo_path(8000, delay_ms=24, erl_db=8, seed=seed + 4)
    cases: list[Scenario] = []

    def add(
        name: str,
        desc: str,
        speech: str,
        signals: EchoScenario,
        talk_from_s: float | None = None,
        change_at_s: float | None = None,
        frame: int = 160,
    ) -> None:
        cases.append(Scenario(name, signals, desc, speech, frame, talk_from_s, change_at_s))

    def far_only(name: str, desc: str, far: np.ndarray, path: np.ndarray, **kw: Any) -> None:
        speech = espeak_far if far is far8 else f"pocketsphinx-testdata '{split}' split"
        add(name, desc, speech, build_scenario(far, [path], **kw))

    far_only(
        "far-only, 0 ms, ERL 6 dB",
        "hybrid at 0 ms, 4 ms dispersion, ERL 6 dB",
        far8,
        echo_path(8000, 0, 4, 6, seed + 1),
    )
    far_only(
        "far-only, 32 ms, ERL 12 dB, noise -55 dBFS",
        "32 ms, 8 ms dispersion, ERL 12 dB",
        far8,
        echo_path(8000, 32, 8, 12, seed + 2),
        noise_dbfs=-55,
    )
    far_only(
        "far-only, 64 ms, ERL 20 dB",
        "64 ms, 6 ms dispersion, ERL 20 dB",
        far8,
        echo_path(8000, 64, 6, 20, seed + 3),
    )
    far_only(
        "far-only, 128 ms tail",
        "112 ms delay + 16 ms dispersion = 128 ms, ERL 10 dB",
        far8,
        echo_path(8000, 112, 16, 10, seed + 5),
    )
    far_only(
        "far-only, real speech, 40 ms",
        "40 ms, 6 ms dispersion, ERL 12 dB",
        real,
        echo_path(8000, 40, 6, 12, seed + 6),
    )
    far_only(
        "G.711 µ-law both ways, 24 ms",
        "µ-law to the hybrid and back, 24 ms, ERL 8 dB",
        far8,
        path,
        ulaw=True,
    )
    loud = 32768 * 10 ** (-10 / 20)  # the far end's peaks drive the loudspeaker into saturation
    far_only(
        "loudspeaker saturation (tanh), 24 ms",
        "far end tanh-saturated at -10 dBFS, 24 ms",
        far8,
        path,
        loudspeaker=partial(soft_clip, ceiling=loud),
    )
    rails = 32768 * 10 ** (-14 / 20)
    far_only(
        "hard clipping at -14 dBFS, G.711, 24 ms",
        "far end clipped, µ-law both ways, 24 ms",
        far8,
        path,
        ulaw=True,
        loudspeaker=partial(hard_clip, ceiling=rails),
    )
    both = f"{espeak_far}; caller espeak {voice}"
    caller_espeak = _at_level(words, -24)  # at the echo's level (far -16 dBFS, ERL 8 dB)
    for label, level_db in (("caller at echo level", 0.0), ("caller 6 dB louder", 6.0)):
        near = _caller(caller_espeak * 10 ** (level_db / 20), n8, 6.0, 8000)
        add(
            f"double talk, {label}",
            "24 ms, ERL 8 dB; caller from 6 s",
            both,
            build_scenario(far8, [path], near),
            talk_from_s=6.0,
        )
    real_caller = _caller(_at_level(real_speech, -24), n8, 6.0, 8000)
    add(
        "double talk, real caller, G.711",
        "µ-law both ways, 24 ms, ERL 8 dB; caller from 6 s",
        f"{espeak_far}; caller pocketsphinx-testdata '{split}' split",
        build_scenario(far8, [path], real_caller, ulaw=True),
        talk_from_s=6.0,
    )
    second = echo_path(8000, delay_ms=56, erl_db=10, seed=seed + 9)
    add(
        "echo path change (24 -> 56 ms)",
        "24 ms/ERL 8 dB, then 56 ms/ERL 10 dB",
        espeak_far,
        build_scenario(np.concatenate([far8, far8]), [path, second]),
        change_at_s=seconds,
    )
    add(
        "16 kHz far-only 20 ms, ERL 10 dB",
        "20 ms, 6 ms dispersion, ERL 10 dB, 16 kHz",
        espeak_far,
        build_scenario(far16, [echo_path(16000, 20, 6, 10, seed + 7)], clock_rate=16000),
        frame=320,
    )
    return cases
