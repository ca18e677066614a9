"""Media taps: an AudioMediaPort per leg and direction that copies each 20 ms frame and returns.

pjmedia calls ``onFrameReceived`` on its clock thread, so a tap only copies the frame into
one bounded queue shared by the worker's taps and returns; a consumer thread (`TapPump`) hands
the frames to each tap's callback (the DSP chain plugs in there). When the consumer falls
behind, new frames are dropped and counted, never queued without bound.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pjsua2 as pj

from dsp.clock import CLOCK_RATE, FRAME_MS
from telephony.media_frames import vector_bytes

log = logging.getLogger(__name__)


#: "in" is what the leg's far end says; "out" is what we send to the leg (the echo reference).
IN, OUT = "in", "out"


@dataclass(frozen=True)
class TapFrame:
    leg_id: str
    direction: str
    seq: int
    samples: np.ndarray  # int16, mono, SAMPLES_PER_FRAME long
    clock_rate: int
    received_at: float  # time.monotonic() when pjmedia delivered it


FrameCallback = Callable[[TapFrame], None]


class TapPump:
    """The consumer side: one thread and one bounded queue for every tap of a worker.

    It also keeps the worker's taps: a tap is returned here when its leg ends and handed to the
    next leg, never destroyed while pjmedia's clock runs (destroying a port whose callback the
    clock thread may be running at that moment can deadlock or crash the process).
    """

    def __init__(self, max_frames: int = 2000) -> None:
        self._queue: queue.Queue[tuple[FrameCallback, TapFrame] | None] = queue.Queue(
            maxsize=max_frames
        )
        self.dropped = 0
        self.delivered = 0
        self._idle: list[Tap] = []
        self._all: list[Tap] = []
        self._thread = threading.Thread(target=self._run, name="tap-pump", daemon=True)

    def start(self) -> None:
        """Start the consumer; call after the endpoint exists (the thread registers with pjlib)."""
        self._thread.start()

    def acquire(self, leg_id: str, direction: str, callback: FrameCallback | None) -> Tap:
        """A tap for *leg_id* (loop thread only): an idle one, or a new port."""
        tap = self._idle.pop() if self._idle else None
        if tap is None:
            tap = Tap(self)
            self._all.append(tap)
        tap.assign(leg_id, direction, callback)
        return tap

    def release(self, tap: Tap) -> None:
        tap.assign("", tap.direction, None)
        if tap not in self._idle:
            self._idle.append(tap)

    def offer(self, callback: FrameCallback, frame: TapFrame) -> None:
        try:
            self._queue.put_nowait((callback, frame))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        # Callbacks may drop the last reference to a conversation (and its legs) here:
        # pjlib must know this thread, or their destructors abort the process.
        pj.Endpoint.instance().libRegisterThread("tap-pump")
        while (item := self._queue.get()) is not None:
            callback, frame = item
            self.delivered += 1
            try:
                callback(frame)
            except Exception:
                log.exception("tap callback failed for %s", frame.leg_id)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=1)
        self._thread.join(timeout=2)

    def destroy_taps(self) -> None:
        """Drop every port; only once the conference clock is stopped (shutdown)."""
        for tap in self._all:
            tap.assign("", tap.direction, None)
        self._idle.clear()
        self._all.clear()


class Tap(pj.AudioMediaPort):
    """A sink port on the conference bridge; connect a leg's audio to it with ``startTransmit``."""

    def __init__(self, pump: TapPump) -> None:
        super().__init__()
        self.pump = pump
        self.leg_id = ""
        self.direction = IN
        self.callback: FrameCallback | None = None
        self.frames = 0
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, CLOCK_RATE, 1, FRAME_MS * 1000, 16)
        self.createPort(f"tap-{id(self):x}", fmt)

    def assign(self, leg_id: str, direction: str, callback: FrameCallback | None) -> None:
        self.callback = None  # first, so the clock thread never pairs the new id with old code
        self.leg_id = leg_id
        self.direction = direction
        self.frames = 0
        self.callback = callback

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        callback = getattr(self, "callback", None)  # None while idle or half-constructed
        if callback is None or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or frame.size == 0:
            return
        samples = np.frombuffer(vector_bytes(frame.buf), dtype="<i2")
        self.frames += 1
        self.pump.offer(
            callback,
            TapFrame(
                self.leg_id, self.direction, self.frames, samples, CLOCK_RATE, time.monotonic()
            ),
        )

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
        frame.size = 0
