"""Two clocks that disagree, in virtual time: pjmedia's 20 ms tick and a sound card's period,
each with its own rate error and scheduling jitter, driving an `AudioBridge` as the real
threads would (pure logic: an hour of call runs in seconds)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from dsp.clock import CLOCK_RATE, SAMPLES_PER_FRAME
from hardware.headset.bridge import AudioBridge, BridgeStats


def tone(freq: float, first: int, n: int, rate: int) -> np.ndarray:
    """Samples *first* .. *first* + *n* of a continuous tone at -12 dBFS."""
    index = np.arange(first, first + n)
    out: np.ndarray = (8000 * np.sin(2 * math.pi * freq * index / rate)).astype(np.int16)
    return out


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@dataclass
class VirtualClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TwoClockCall:
    device_rate: int = 48000
    period: int = 1024  # device frames per callback (PortAudio's usual default)
    device_ppm: float = 100.0  # the sound card runs this much fast against pjmedia
    jitter_ms: float = 2.0  # each callback comes up to this late
    seed: int = 7
    max_correction: float | None = None
    clock: VirtualClock = field(default_factory=VirtualClock)
    samples: list[BridgeStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        kwargs = {} if self.max_correction is None else {"max_correction": self.max_correction}
        self.bridge = AudioBridge(self.device_rate, clock=self.clock, **kwargs)
        self.random = random.Random(self.seed)
        self.heard: list[np.ndarray] = []
        self.sent: list[np.ndarray] = []
        self._tone_phase = 0
        #: the least audio left in each buffer just before its drainer took a frame (samples):
        #: the margin a late thread has before the buffer underruns
        self.lowest_playback = self.lowest_capture = self.bridge.capacity

    def _jitter(self) -> float:
        return self.random.random() * self.jitter_ms / 1000.0

    def run(self, seconds: float, sample_every: float = 60.0, keep_audio: float = 0.0) -> None:
        """Run *seconds* of call; a stats sample each *sample_every* s; the last *keep_audio*
        seconds of what the device plays and what the call receives are kept."""
        pj_period = SAMPLES_PER_FRAME / CLOCK_RATE
        device_period = self.period / (self.device_rate * (1 + self.device_ppm * 1e-6))
        start = self.clock.now
        pj_tick = device_tick = 0
        next_sample = start + sample_every
        end = start + seconds
        silence_frame = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
        silence_block = np.zeros(self.period, dtype=np.int16)
        while True:
            pj_at = start + pj_tick * pj_period + self._jitter() * 0.5
            device_at = start + device_tick * device_period + self._jitter()
            at = min(pj_at, device_at)
            if at >= end:
                break
            self.clock.now = at
            keeping = at >= end - keep_audio
            if pj_at <= device_at:
                # the caller says 440 Hz, the agent 1 kHz (while audio is kept)
                first = pj_tick * SAMPLES_PER_FRAME
                pj_tick += 1
                self.bridge.from_call(tone(440.0, first, SAMPLES_PER_FRAME, CLOCK_RATE)
                                      if keeping else silence_frame)
                if self.bridge.capture.primed:
                    self.lowest_capture = min(self.lowest_capture,
                                              self.bridge.capture.fill - SAMPLES_PER_FRAME)
                sent = self.bridge.to_call()
                if keeping:
                    self.sent.append(sent)
            else:
                first = device_tick * self.period
                device_tick += 1
                captured = (tone(1000.0, first, self.period, self.device_rate) if keeping
                            else silence_block)
                played = self.bridge.device_block(captured, self.period)
                if keeping:
                    self.heard.append(played)
            if at >= next_sample:
                self.samples.append(self.bridge.stats())
                next_sample += sample_every
