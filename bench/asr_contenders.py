"""The two contenders of the ASR benchmark: `Reference`, Vosk in this process with one thread
per stream, and `Service`, our speech service process with one SpeechClient per stream. Each
decodes one stream as fast as possible (`single`), times a final forced by end of stream
(`eof_latency`) and runs one ramp step at real-time pace (`step`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.asr_material import (
    CHUNK,
    FRAME,
    RATE,
    ROOT,
    STAGGER_S,
    Material,
    StepResult,
    judge,
    latency_after,
    pace,
)
from dsp.speech.client import SpeechClient, Transcript
from dsp.speech.models import load_model, resolve_model_dirs
from dsp.speech.recognizer import StreamingRecognizer

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
