"""The headset's media path, without the sound card or pjsua2: 8 kHz call frames on one side,
blocks at the device's native rate on the other, a jitter buffer and a drift controller per
direction between them.

Read top to bottom as the audio flows:

- **to the agent**: `from_call` (pjmedia's clock thread: copy and return) -> playback jitter
  buffer -> `device_block` pulls 20 ms frames -> (far-end reference for the echo canceller) ->
  resampler to the device rate, corrected for drift -> volume, ring tone -> the device;
- **from the agent**: `device_block` gets the device's capture -> resampler to 8 kHz,
  corrected for drift -> echo canceller (open-ear headsets, speakerphones) -> level meter ->
  capture jitter buffer -> `to_call` (pjmedia's clock thread) -> mute -> the call.

Everything heavy runs in the device's callback; the pjmedia side only copies.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dsp.aec import EchoCanceller
from dsp.clock import CLOCK_RATE, SAMPLES_PER_FRAME
from dsp.levels import LevelMeter
from dsp.resample import RatioResampler
from hardware.headset.drift import MAX_CORRECTION, DriftController
from hardware.headset.jitter import JitterBuffer
from hardware.headset.ringer import RingTone

#: Depth each jitter buffer is held at: absorbs a device period and pjmedia's scheduling.
TARGET_MS = 40
#: Room before the oldest audio is dropped (a stalled side must not grow latency without bound).
CAPACITY_MS = 400
#: A backlog this far above the target is cut back at once (the controller's small steps would
#: take minutes): a stall of one side, not clock drift.
TRIM_ABOVE_MS = 60
#: ...once it has lasted this long: a late thread's catch-up burst passes in a period or two,
#: and trimming it would leave the buffer short when the other side catches up (an underrun).
TRIM_AFTER_SECONDS = 1.0
#: Most depth added on top of the target for a sound card whose periods come late (a loaded
#: machine, a JACK server without real-time priority): the latency a bad host may cost.
MAX_LATENESS_MS = 80
#: A period this late beyond its length is absorbed by the target alone (no extra depth).
LATENESS_FREE_MS = 15.0
#: The extra depth grows and shrinks in steps this large...
LATENESS_STEP_MS = 10.0
#: ...and a step is given back after this long without a period that needed it.
LATENESS_HOLD_SECONDS = 30.0


@dataclass(frozen=True)
class BridgeStats:
    playback_ms: float  # smoothed depth of the buffer towards the agent
    capture_ms: float  # smoothed depth of the buffer towards the call
    playback_underruns: int
    capture_underruns: int
    playback_overflows: int
    capture_overflows: int
    playback_trims: int
    capture_trims: int
    playback_correction: float
    capture_correction: float
    target_ms: float  # the depth each buffer is held at now: the target plus the lateness guard
    heard_dbfs: float  # what the agent hears
    spoken_dbfs: float  # what the agent says (after the echo canceller)


class LatenessGuard:
    """Extra depth for a sound card whose periods come late: grown at once, in steps, when a
    period's delay beyond its nominal length exceeds what the target already absorbs; given
    back a step at a time once no period has needed it for a while; capped.

    pjmedia drains (and fills) the buffers every 20 ms on its own clock; a device period that
    comes 45 ms late has let it pull 45 ms more than the device gave. A fixed depth below that
    underruns and re-primes: a gap in the audio on every such period. Held deeper by the worst
    recent delay, the buffers ride through the host's late periods and cost that latency only
    on such a host. Steps and a hold time keep it from pumping (each growth is a short gap).
    """

    def __init__(
        self,
        cap: int,
        rate: int = CLOCK_RATE,
        free_ms: float = LATENESS_FREE_MS,
        step_ms: float = LATENESS_STEP_MS,
        hold_seconds: float = LATENESS_HOLD_SECONDS,
    ) -> None:
        self.cap = cap  # samples
        self.rate = rate
        self.free = free_ms / 1000.0
        self.step = int(rate * step_ms / 1000)
        self.hold = hold_seconds
        self.extra = 0  # samples
        self._last: float | None = None
        self._needed_at = 0.0  # when a period last needed the current extra

    def period(self, now: float, nominal: float) -> int:
        """A device period began at *now* (seconds) and should last *nominal*: the extra depth."""
        if self._last is not None:
            late = now - self._last - nominal - self.free  # beyond what the target absorbs
            if late > 0:
                need = min(self.cap, -(-int(late * self.rate) // self.step) * self.step)
                if need >= self.extra:
                    self.extra, self._needed_at = need, now
            if self.extra and now - self._needed_at > self.hold:
                self.extra -= self.step  # on time for a while: give a step back
                self._needed_at = now
        self._last = now
        return self.extra

    def reset(self) -> None:
        self.extra = 0
        self._last = None


def _to_int16(samples: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    return out


class AudioBridge:
    def __init__(
        self,
        device_rate: int,
        capture_channels: int = 1,
        playback_channels: int = 1,
        echo_canceller: bool = False,
        target_ms: int = TARGET_MS,
        max_correction: float = MAX_CORRECTION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.target = CLOCK_RATE * target_ms // 1000
        self.capacity = CLOCK_RATE * CAPACITY_MS // 1000
        self.trim_above = self.target + CLOCK_RATE * TRIM_ABOVE_MS // 1000
        self.lateness = LatenessGuard(CLOCK_RATE * MAX_LATENESS_MS // 1000)
        self._depth = self.target
        self._backlog_since: dict[str, float | None] = {"playback": None, "capture": None}
        self.max_correction = max_correction
        self.echo_canceller = echo_canceller
        self.muted = False
        self.gain = 1.0
        self.ringing = False
        self.active = True  # a call is connected (the station clears it between calls)
        self._lock = threading.Lock()  # device side: rebinding vs. a running callback
        self.playback = JitterBuffer(self.target, self.capacity)
        self.capture = JitterBuffer(self.target, self.capacity)
        self.heard = LevelMeter(CLOCK_RATE)
        self.spoken = LevelMeter(CLOCK_RATE)
        self.bind_device(device_rate, capture_channels, playback_channels)

    def bind_device(self, device_rate: int, capture_channels: int = 1,
                    playback_channels: int = 1) -> None:
        """(Re)start the device side at *device_rate*: after opening or replacing the device."""
        with self._lock:
            self.device_rate = device_rate
            self.capture_channels = capture_channels
            self.playback_channels = playback_channels
            self._down = RatioResampler(CLOCK_RATE / device_rate)
            self._up = RatioResampler(device_rate / CLOCK_RATE)
            self._playback_drift = DriftController(self.target, CLOCK_RATE,
                                                   max_correction=self.max_correction)
            self._capture_drift = DriftController(self.target, CLOCK_RATE,
                                                  max_correction=self.max_correction)
            self._captured = np.zeros(0)
            self._to_play = np.zeros(0)
            self._far: deque[np.ndarray] = deque(maxlen=50)
            self._aec = EchoCanceller() if self.echo_canceller else None
            self.ring_tone = RingTone(device_rate)
            self.lateness.reset()  # a new device: its periods are judged afresh
            self.playback.clear()
            self.capture.clear()
            self._warm_up()

    def _warm_up(self) -> None:
        """Compile (or load) every kernel now: a first compile inside the device's callback
        would stall it for most of a second."""
        silence = np.zeros(SAMPLES_PER_FRAME)
        RatioResampler(self._up.ratio).process(silence)
        RatioResampler(self._down.ratio).process(np.zeros(self.device_rate // 50))
        LevelMeter(CLOCK_RATE).update(silence)
        if self._aec is not None:
            EchoCanceller().process(silence.astype(np.int16), silence.astype(np.int16))

    def start_call(self) -> None:
        """A call's media is connected: both directions start empty and prime to the target
        (what the microphone heard before the call never reaches it)."""
        with self._lock:
            self._restart()
            self.active = True

    def end_call(self) -> None:
        with self._lock:
            self.active = False
            self._restart()

    def _restart(self) -> None:
        self.playback.clear()
        self.capture.clear()
        self._captured = np.zeros(0)
        self._to_play = np.zeros(0)
        self._far.clear()
        self._playback_drift.reset()
        self._capture_drift.reset()

    # --- the call side: pjmedia's clock thread, copy and return ------------------------------

    def from_call(self, frame: np.ndarray) -> None:
        self.playback.push(np.asarray(frame, dtype=np.float64))

    def to_call(self) -> np.ndarray:
        frame = self.capture.pull(SAMPLES_PER_FRAME)
        if self.muted:
            return np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
        return _to_int16(frame)

    # --- the device side: PortAudio's callback -----------------------------------------------

    def device_block(self, captured: np.ndarray | None, frames: int) -> np.ndarray:
        """One device period: take its capture (int16, interleaved) and return *frames* frames
        to play (int16, interleaved)."""
        with self._lock:
            now = self.clock()
            extra = self.lateness.period(now, frames / self.device_rate)
            self._hold(self.target + extra, -(-frames * CLOCK_RATE // self.device_rate))
            if not self.active:
                out = self._idle(frames)
            else:
                if captured is not None and captured.size:
                    self._take_capture(captured[:: self.capture_channels], now)
                out = self._give_playback(frames, now)
        if self.playback_channels > 1:
            out = np.repeat(out, self.playback_channels)
        return out

    def _hold(self, depth: int, period: int) -> None:
        """Hold both buffers (and their drift controllers) at *depth* samples at their lowest.
        A deeper hold takes effect at once: the newest audio is repeated for what a buffer
        lacks of it (one short blemish, where waiting for the drift controller would underrun
        and re-prime, a gap of silence on every late period until it got there); a shallower
        one is left to the controller.

        Only the shortfall is repeated: the late period that deepened the hold has already
        left pjmedia's side of the playback buffer fuller by its delay (and drained the
        capture buffer by as much), so stretching both by the whole growth would add that
        delay again as latency. At this point of a period the capture buffer is at its lowest
        and the playback buffer at its highest (the device's *period* samples are still to be
        pulled)."""
        grow = depth - self._depth
        if grow > 0 and self.active:
            for buffer, lowest in ((self.playback, self.playback.fill - period),
                                   (self.capture, self.capture.fill)):
                if buffer.primed:
                    buffer.stretch(min(grow, max(0, depth - lowest)))
        self.playback.target = depth
        self._playback_drift.target = depth
        self._capture_drift.target = depth
        self._depth = depth

    def _take_capture(self, mono: np.ndarray, now: float) -> None:
        # The depth the controller holds is the buffer at its lowest, as in the playback
        # direction: here that is before this period's frames arrive (pjmedia has drained it
        # since the last period). Measured after the push it would be the peak, and a target
        # held at the peak leaves the trough near empty: any late period underran.
        lowest = self.capture.fill if self.capture.primed else None
        # ...so it primes (and is trimmed back) to the target plus the period that comes in
        # at once: right after priming, its lowest point is the target already.
        period = -(-mono.shape[0] * CLOCK_RATE // self.device_rate)
        self.capture.target = self._depth + period
        self._captured = np.concatenate([self._captured, self._down.process(mono)])
        while self._captured.shape[0] >= SAMPLES_PER_FRAME:
            frame = self._captured[:SAMPLES_PER_FRAME]
            self._captured = self._captured[SAMPLES_PER_FRAME:]
            if self._aec is not None:
                far = self._far.popleft() if self._far else np.zeros(SAMPLES_PER_FRAME)
                frame = self._aec.process(_to_int16(frame), _to_int16(far)).astype(np.float64)
            self.spoken.update(frame)
            self.capture.push(frame)
        if self._backlog("capture", self.capture.fill - period, now):
            self.capture.trim(self.capture.target)
        if lowest is not None:  # depth means latency only once the buffer plays
            correction = self._capture_drift.update(lowest, now)
            self._down.set_correction(-correction)  # too deep: produce fewer samples

    def _backlog(self, direction: str, fill: int, now: float) -> bool:
        """Whether *direction*'s buffer has stood far above its hold for `TRIM_AFTER_SECONDS`."""
        if fill <= self.trim_above + (self._depth - self.target):
            self._backlog_since[direction] = None
            return False
        since = self._backlog_since[direction]
        if since is None:
            self._backlog_since[direction] = now
            return False
        if now - since < TRIM_AFTER_SECONDS:
            return False
        self._backlog_since[direction] = None
        return True

    def _give_playback(self, frames: int, now: float) -> np.ndarray:
        if self._backlog("playback", self.playback.fill, now):
            self.playback.trim(self._depth)
        while self._to_play.shape[0] < frames:
            frame = self.playback.pull(SAMPLES_PER_FRAME)
            if self._aec is not None:
                self._far.append(frame)
            self.heard.update(frame)
            self._to_play = np.concatenate([self._to_play, self._up.process(frame)])
        if self.playback.primed:
            correction = self._playback_drift.update(self.playback.fill, now)
            self._up.set_correction(-correction)  # too deep: consume faster (fewer out per in)
        block = self._to_play[:frames] * self.gain
        self._to_play = self._to_play[frames:]
        if self.ringing:
            block = block + self.ring_tone.next(frames)
        return _to_int16(block)

    def _idle(self, frames: int) -> np.ndarray:
        """No call: nothing is captured, only the ring tone (or silence) is played."""
        block = self.ring_tone.next(frames) if self.ringing else np.zeros(frames)
        return _to_int16(block)

    # --- what the console and the tests read ---------------------------------------------------

    def stats(self) -> BridgeStats:
        ms = 1000.0 / CLOCK_RATE
        return BridgeStats(
            self._playback_drift.depth * ms,
            self._capture_drift.depth * ms,
            self.playback.underruns,
            self.capture.underruns,
            self.playback.overflows,
            self.capture.overflows,
            self.playback.trims,
            self.capture.trims,
            self._playback_drift.correction,
            self._capture_drift.correction,
            self._depth * ms,
            self.heard.rms_dbfs,
            self.spoken.rms_dbfs,
        )
