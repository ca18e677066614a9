"""One step of the calls benchmark: N simultaneous calls set up on a path, held with a tone
each way while CPU and memory are read, then hung up and their recordings checked."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.call_paths import CallPath, phone_slots
from bench.frame_loss import RATE, FrameCheck, check_recording
from bench.resources import CpuWindow

if TYPE_CHECKING:
    from telephony.testing.phones import Phone

AGENT_TONE = 1010.0  # 20.2 cycles per frame: a lost or repeated frame shifts the phase by 72°
CALLER_TONE = 1510.0


@dataclass
class StepResult:
    path: str
    calls: int
    bridged: int = 0
    setup_ms: list[float] = field(default_factory=list)
    setup_rate: float = 0.0
    frames: FrameCheck = field(default_factory=FrameCheck)
    tap_frames_dropped: int = 0
    cores_busy: float = 0.0
    cpu_ms_per_call_second: float = 0.0
    phones_cpu_ms_per_call_second: float = 0.0
    rss_kib_per_call: float = 0.0
    threads_ms_per_call_second: dict[str, float] = field(default_factory=dict)
    hold_seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return (
            self.bridged == self.calls
            and self.frames.frames > 0
            and self.frames.lost == 0
            and self.tap_frames_dropped == 0
        )


def setup_rate(sent: Sequence[float], done: Sequence[float]) -> float:
    """Calls set up per second: bridged calls over first INVITE to last bridged."""
    if not done:
        return 0.0
    return len(done) / max(max(done) - min(sent), 1e-9)


def new_events(
    phones: Sequence[Phone], baseline: dict[str, int], event: str, **fields: Any
) -> list[tuple[Phone, dict[str, Any]]]:
    """Events seen by *phones* since *baseline* (counts per phone name)."""
    found = []
    for phone in phones:
        seen = phone.seen(event, **fields)
        found += [(phone, item) for item in seen[baseline.get(phone.name, 0) :]]
    return found


def counts(phones: Sequence[Phone], event: str, **fields: Any) -> dict[str, int]:
    return {phone.name: len(phone.seen(event, **fields)) for phone in phones}


def wait_count(
    phones: Sequence[Phone],
    baseline: dict[str, int],
    n: int,
    timeout: float,
    event: str,
    **fields: Any,
) -> list[tuple[Phone, dict[str, Any]]]:
    """Poll until *n* new events came (or *timeout*); returns what came."""
    deadline = time.monotonic() + timeout
    while True:
        found = new_events(phones, baseline, event, **fields)
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def tone_wavs(directory: Path, seconds: float) -> dict[float, Path]:
    """One long tone per side, played once: the phone's looping ``tone`` skips a frame at
    every loop (each second), which would count as loss."""
    from ivr.prompts import write_wav

    t = np.arange(int(seconds * RATE)) / RATE
    wavs = {}
    for freq in (AGENT_TONE, CALLER_TONE):
        wavs[freq] = directory / f"bench-tone-{int(freq)}.wav"
        write_wav(wavs[freq], (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16), RATE)
    return wavs


def measure_idle(path: CallPath, seconds: float) -> None:
    window, phones = CpuWindow(path.measured_pids), CpuWindow(path.phone_pids)
    threads = CpuWindow(path.memory_pids)
    for meter in (window, phones, threads):
        meter.start()
    time.sleep(seconds)
    path.idle_cores, path.idle_phone_cores = window.cores(), phones.cores()
    path.idle_threads = threads.thread_cores()
    path.idle_rss_kib = path.rss()


def run_step(path: CallPath, calls: int, hold: float, tones: dict[float, Path]) -> StepResult:
    result = StepResult(path.name, calls)
    path.before_step()
    confirmed = counts(path.answerers, "state", state="confirmed")
    incoming = counts(path.answerers, "incoming")
    dropped0 = path.health()
    sent, placed = [], []
    for k, phone in enumerate(phone_slots(path.callers, calls)):
        sent.append(time.monotonic())
        placed.append((phone, phone.call(path.target(k))))
    answered = wait_count(path.answerers, confirmed, calls, 30, "state", state="confirmed")
    done = [item["t"] for _, item in answered]
    result.bridged = len(answered)
    result.setup_ms = [round(1000 * (t - min(sent)), 1) for t in sorted(done)]
    result.setup_rate = setup_rate(sent, done)
    far_ends = [(p, int(e["call"])) for p, e in new_events(path.answerers, incoming, "incoming")]
    for phone, call in far_ends:
        phone.play(call, tones[AGENT_TONE])
    for phone, call in placed:
        phone.play(call, tones[CALLER_TONE])
    time.sleep(0.5)  # media settles (jitter buffers fill) before the measured window
    window, phones = CpuWindow(path.measured_pids), CpuWindow(path.phone_pids)
    threads = CpuWindow(path.memory_pids)
    for meter in (window, phones, threads):
        meter.start()
    time.sleep(hold / 2)
    rss = path.rss()
    time.sleep(hold / 2)
    result.hold_seconds = hold
    result.cores_busy = window.cores()
    live = max(result.bridged, 1)
    result.cpu_ms_per_call_second = 1000 * (result.cores_busy - path.idle_cores) / live
    result.phones_cpu_ms_per_call_second = 1000 * (phones.cores() - path.idle_phone_cores) / live
    result.rss_kib_per_call = (rss - path.idle_rss_kib) / live
    result.threads_ms_per_call_second = {
        label: round(1000 * (cores - path.idle_threads.get(label, 0.0)) / live, 2)
        for label, cores in sorted(threads.thread_cores().items())
    }
    result.tap_frames_dropped = path.health() - dropped0
    hang_up_and_check(placed, far_ends, result)
    return result


def hang_up_and_check(
    placed: list[tuple[Phone, int]], far_ends: list[tuple[Phone, int]], result: StepResult
) -> None:
    """Callers hang up; each side's recording must carry the other side's tone."""
    for phone, call in placed:
        with contextlib.suppress(AssertionError):
            phone.hangup(call)
    heard = [(p, c, AGENT_TONE) for p, c in placed] + [(p, c, CALLER_TONE) for p, c in far_ends]
    for phone, call, freq in heard:
        try:
            path = phone.wait_for("recorded", call=call, timeout=10)["path"]
        except AssertionError:
            continue
        result.frames.add(check_recording(path, freq))
