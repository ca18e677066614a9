"""The sound card as the headset sees it: a child process (`soundcard`) that owns PortAudio and
sends each captured block; the answer to each is the block to play, made by the `AudioBridge`
here. So the device's own clock still paces the bridge, and a device that disappears mid-call
(the child stops sending, or dies) is replaced: the child is killed, a new one opens the
default device, and the call stays up. Both are logged and reported as events.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hardware.headset.bridge import AudioBridge
from hardware.headset.soundcard import SoundError, receive, send

log = logging.getLogger(__name__)

#: A card that sent nothing for this long is taken as gone.
SILENT_SECONDS = 1.5
WATCH_INTERVAL = 0.25
#: How long a new card may take to open its device.
OPEN_SECONDS = 15.0
#: How long to look for a default device after losing one.
RECOVER_SECONDS = 60.0

__all__ = ["SoundCard", "SoundError"]


@dataclass(frozen=True)
class OpenDevice:
    name: str
    rate: int
    describe: str


class _Child:
    def __init__(self, device: str | None, ring_device: str | None) -> None:
        self.sock, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "hardware.headset.soundcard", "--fd", str(theirs.fileno())]
        if device:
            argv += ["--device", device]
        if ring_device:
            argv += ["--ring-device", ring_device]
        self.process = subprocess.Popen(argv, pass_fds=(theirs.fileno(),),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        theirs.close()
        self.send_lock = threading.Lock()

    def opened(self, timeout: float) -> OpenDevice:
        """The device the card opened, or `SoundError` with the card's reason."""
        self.sock.settimeout(timeout)
        try:
            kind, payload = receive(self.sock)
        except (OSError, EOFError) as error:
            self.kill()
            raise SoundError(f"the sound card process did not start: {error}") from error
        finally:
            self.sock.settimeout(None)
        body = json.loads(payload)
        if kind != b"I":
            self.kill()
            raise SoundError(str(body.get("error", "the sound card process failed")))
        return OpenDevice(str(body["name"]), int(body["rate"]), str(body["describe"]))

    def send(self, kind: bytes, payload: bytes) -> None:
        with self.send_lock:
            send(self.sock, kind, payload)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class SoundCard:
    """Owns the card process; `on_event(kind, **fields)` hears device changes."""

    def __init__(self, bridge: AudioBridge, device_name: str | None,
                 on_event: Callable[..., None], ring_device_name: str | None = None) -> None:
        self.bridge = bridge
        self.on_event = on_event
        self.ring_device_name = ring_device_name
        self._child = _Child(device_name, ring_device_name)
        self.device = self._child.opened(OPEN_SECONDS)  # SoundError: no such device, none...
        self.rings_on_headset = ring_device_name is None
        self.blocks = 0
        self.last_block = time.monotonic()
        self._ringing = False
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.bridge.bind_device(self.device.rate)
        log.info("headset audio on %s", self.device.describe)
        self._running.set()
        self._serve(self._child)
        watchdog = threading.Thread(target=self._watch, name="sound-watch", daemon=True)
        watchdog.start()
        self._threads.append(watchdog)

    def _serve(self, child: _Child) -> None:
        self.last_block = time.monotonic()
        thread = threading.Thread(target=self._pump, args=(child,), name="sound", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _pump(self, child: _Child) -> None:
        """Each captured block in, the block to play out (paced by the device's clock)."""
        while self._running.is_set():
            try:
                kind, payload = receive(child.sock)
                if kind != b"C":
                    continue
                captured = np.frombuffer(payload, dtype="<i2")
                out = self.bridge.device_block(captured, captured.shape[0])
                child.send(b"P", out.astype("<i2").tobytes())
            except (OSError, EOFError):
                return  # the watchdog sees the silence
            self.blocks += 1
            self.last_block = time.monotonic()

    def _watch(self) -> None:
        while self._running.wait(WATCH_INTERVAL) and self._running.is_set():
            died = self._child.process.poll() is not None
            silent = time.monotonic() - self.last_block > SILENT_SECONDS
            if died or silent:
                self._recover("stopped" if died else "went silent")

    def _recover(self, why: str) -> None:
        lost = self.device
        log.warning("sound device %s %s: the call stays up, moving to the default device",
                    lost.name, why)
        self.on_event("device_lost", device=lost.name, reason=why)
        self._child.kill()  # a card stuck on a vanished device cannot be stopped, only killed
        deadline = time.monotonic() + RECOVER_SECONDS
        while self._running.is_set() and time.monotonic() < deadline:
            child = _Child(None, self.ring_device_name)
            try:
                self.device = child.opened(OPEN_SECONDS)
            except SoundError as error:
                log.debug("no default device yet: %s", error)
                time.sleep(0.5)
                continue
            self._child = child
            self.bridge.bind_device(self.device.rate)
            self._serve(child)
            if self._ringing:
                self.ring(True)
            log.info("headset audio resumed on %s", self.device.describe)
            self.on_event("device_resumed", device=self.device.name, rate=self.device.rate)
            return
        if self._running.is_set():
            self.on_event("device_missing", reason=f"no sound device within {RECOVER_SECONDS} s")
            self.last_block = time.monotonic()  # try again later

    def ring(self, on: bool) -> None:
        """Ring on the headset (mixed into its output) or on the chosen ring device."""
        self._ringing = on
        if self.rings_on_headset:
            if on:
                self.bridge.ring_tone.reset()
            self.bridge.ringing = on
            return
        with contextlib.suppress(OSError):
            self._child.send(b"R", b"1" if on else b"0")

    def stop(self) -> None:
        self._running.clear()
        self._child.kill()
        for thread in self._threads:
            thread.join(timeout=2)

    def describe(self) -> dict[str, Any]:
        return {"device": self.device.name, "rate": self.device.rate, "blocks": self.blocks}
