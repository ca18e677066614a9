"""The ASR benchmark's shared material: the speech both contenders decode (`build_material`),
what one ramp step measures (`StepResult`) and how a step is judged sustained (`judge`), and the
pacing helpers both sides feed audio with. `bench.asr` runs the benchmark.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.report import percentile

RATE = 8000
FRAME = 160  # 20 ms
CHUNK = 800  # 100 ms: what the client sends per message, and what the reference feeds
SENTENCES = (
    "안녕하세요. 오늘 기분이 아주 좋습니다.",
    "제 계좌 번호를 말씀드리겠습니다.",
    "도와주셔서 정말 감사합니다. 좋은 하루 되세요.",
    "요금이 너무 많이 나와서 전화했습니다.",
)
#: pauses after the sentences, in turn: a caller pauses for breath, to think, to read a number
PAUSES_S = (0.3, 0.5, 0.8, 1.2, 2.0, 3.0)
WARM_UP_S = 3.0  # a new recognizer's first decodes are slow: lag judged after this much audio
STAGGER_S = 0.5  # stream n starts n * this after the first, as calls arrive one by one
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Material:
    """One stream's audio: utterances separated by silence, and where each utterance ends."""

    samples: np.ndarray
    speech_ends: list[float]  # seconds
    utterances: list[np.ndarray]  # each sentence alone, trailing silence trimmed
    pauses: list[float] = field(default_factory=list)  # seconds of silence after each one

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def build_material(seconds: float, cache: Path) -> Material:
    from ivr.prompts import speech_samples

    pieces: list[np.ndarray] = []
    ends: list[float] = []
    pauses: list[float] = []
    total = 0
    while total < seconds * RATE:
        for text in SENTENCES:
            speech = speech_samples(text, "ko", cache, RATE)
            loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 300)
            speech = speech[: loud[-1] + 1]
            pause = PAUSES_S[len(ends) % len(PAUSES_S)]
            pieces += [speech, np.zeros(round(pause * RATE), dtype=np.int16)]
            total += len(speech)
            ends.append(total / RATE)
            pauses.append(pause)
            total += round(pause * RATE)
    utterances = pieces[0 : 2 * len(SENTENCES) : 2]
    return Material(np.concatenate(pieces), ends, utterances, pauses)


@dataclass
class StepResult:
    streams: int
    sustained: bool
    lag_p50_s: float
    lag_p95_s: float
    lag_growth_s: float
    final_latency_p50_s: float | None
    final_latency_p95_s: float | None
    cpu_s_per_audio_s: float  # CPU seconds spent per second of audio, per stream
    finals: int
    #: pause after the utterance (s) -> finals that closed it alone, and their latency
    final_latency_by_pause: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    dropped_frames: int = 0
    load_average: float = 0.0  # the machine's 1-minute load when the step ended
    notes: list[str] = field(default_factory=list)


def lag_growth(lags: list[tuple[float, float]]) -> float:
    """Median lag of the last quarter minus that of the first quarter (by audio position)."""
    if len(lags) < 8:
        return 0.0
    ordered = [lag for _, lag in sorted(lags)]
    quarter = len(ordered) // 4
    return statistics.median(ordered[-quarter:]) - statistics.median(ordered[:quarter])


def by_pause(
    latencies: list[tuple[int, float]], pauses: list[float]
) -> dict[str, dict[str, float | int | None]]:
    """Per pause length: how many utterances got a final of their own, its latency p50/p95."""
    result: dict[str, dict[str, float | int | None]] = {}
    for pause in sorted(set(pauses)):
        spoken = sum(1 for p in pauses if p == pause)
        values = [lat for index, lat in latencies if pauses[index] == pause]
        result[f"{pause:.1f}"] = {
            "utterances": spoken,
            "own_finals": len(values),
            "p50_s": round(percentile(values, 0.5), 3) if values else None,
            "p95_s": round(percentile(values, 0.95), 3) if values else None,
        }
    return result


def judge(
    streams: int,
    lags: list[tuple[float, float]],
    timed: list[tuple[int, float]],
    pauses: list[float],
    cpu_s: float,
    audio_s: float,
    finals: int,
    dropped: int,
    max_lag: float,
) -> StepResult:
    lags = [(at, lag) for at, lag in lags if at >= WARM_UP_S] or lags
    values = [lag for _, lag in lags]
    latencies = [lat for _, lat in timed]
    growth = lag_growth(lags)
    notes = []
    # a caller waits on the slow results, not the typical ones: judge the p95 lag (Vosk's
    # bursts at an utterance's end count against it), and falling behind as a growing median
    if percentile(values, 0.95) > max_lag:
        notes.append(f"p95 lag above {max_lag} s")
    if growth > max_lag:
        notes.append(f"median lag grows by more than {max_lag} s over the run")
    if dropped:
        notes.append(f"{dropped} frames dropped")
    return StepResult(
        streams=streams,
        sustained=not notes,
        lag_p50_s=round(percentile(values, 0.5), 3),
        lag_p95_s=round(percentile(values, 0.95), 3),
        lag_growth_s=round(growth, 3),
        final_latency_p50_s=round(percentile(latencies, 0.5), 3) if latencies else None,
        final_latency_p95_s=round(percentile(latencies, 0.95), 3) if latencies else None,
        final_latency_by_pause=by_pause(timed, pauses),
        cpu_s_per_audio_s=round(cpu_s / (audio_s * streams), 4),
        finals=finals,
        dropped_frames=dropped,
        load_average=round(os.getloadavg()[0], 2),
        notes=notes,
    )


def latency_after(speech_ends: list[float], audio_end: float, done: set[int]) -> int | None:
    """Index of the latest utterance that ended before *audio_end* and has no final yet."""
    for index in range(len(speech_ends) - 1, -1, -1):
        if speech_ends[index] <= audio_end:
            return None if index in done else index
    return None


def pace(t0: float, position_s: float) -> None:
    delay = t0 + position_s - time.monotonic()
    if delay > 0:
        time.sleep(delay)
