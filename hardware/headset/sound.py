"""The sound card through PyAudio (PortAudio): list devices, choose one by name, run one
full-duplex callback stream at the device's native rate into the `AudioBridge`, and when the
device disappears mid-call, log it and carry on on the default device.

PortAudio's callback is the only place audio meets the card (blocking reads crash on JACK);
the watchdog notices a stream that stopped or went silent and reopens PortAudio, because a
device that was unplugged is only forgotten by a fresh device list.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyaudio

from hardware.headset.bridge import AudioBridge
from hardware.headset.ringer import RingTone

log = logging.getLogger(__name__)

#: A stream with no callback for this long is taken as gone.
SILENT_SECONDS = 1.5
WATCH_INTERVAL = 0.25


class SoundError(RuntimeError):
    """No usable sound device (none at all, unknown name, cannot capture or play)."""


@dataclass(frozen=True)
class SoundDevice:
    index: int
    name: str
    host_api: str
    inputs: int
    outputs: int
    rate: int  # the device's native (default) sample rate

    @property
    def duplex(self) -> bool:
        return self.inputs > 0 and self.outputs > 0

    def describe(self) -> str:
        kind = "in+out" if self.duplex else "in" if self.inputs else "out"
        return f"{self.name} [{self.host_api}, {kind}, {self.rate} Hz]"


def list_devices(audio: pyaudio.PyAudio) -> list[SoundDevice]:
    found = []
    for index in range(audio.get_device_count()):
        info = audio.get_device_info_by_index(index)
        api = audio.get_host_api_info_by_index(int(info["hostApi"]))["name"]
        found.append(
            SoundDevice(index, str(info["name"]), str(api), int(info["maxInputChannels"]),
                        int(info["maxOutputChannels"]), int(info["defaultSampleRate"]))
        )
    return found


def default_device(audio: pyaudio.PyAudio, devices: list[SoundDevice]) -> SoundDevice:
    """PortAudio's default input device when it can also play, else the first duplex one."""
    with contextlib.suppress(OSError, IOError):
        index = int(audio.get_default_input_device_info()["index"])
        for device in devices:
            if device.index == index and device.duplex:
                return device
    for device in devices:
        if device.duplex:
            return device
    raise SoundError("no sound device that can both capture and play was found")


def choose_device(devices: list[SoundDevice], name: str, need_input: bool = True) -> SoundDevice:
    """The device whose name is *name* or contains it (case-insensitive)."""
    if not devices:
        raise SoundError("no sound device found: plug in the headset (or check PortAudio)")
    usable = [d for d in devices if (d.duplex if need_input else d.outputs > 0)]
    wanted = name.lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    matches = exact or [d for d in usable if wanted in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(d.describe() for d in devices)
    if not matches:
        raise SoundError(f"no sound device named {name!r} that can "
                         f"{'capture and play' if need_input else 'play'}; found: {listing}")
    raise SoundError(f"{name!r} matches {len(matches)} devices, be more precise: "
                     + "; ".join(d.describe() for d in matches))


class SoundCard:
    """Owns PortAudio and the stream; `on_event(kind, **fields)` hears device changes."""

    def __init__(self, bridge: AudioBridge, device_name: str | None,
                 on_event: Callable[..., None], ring_device_name: str | None = None) -> None:
        self.bridge = bridge
        self.on_event = on_event
        self.audio = pyaudio.PyAudio()
        devices = list_devices(self.audio)
        if not devices:
            self.audio.terminate()
            raise SoundError("no sound device found: plug in the headset (or check PortAudio)")
        try:
            self.device = (choose_device(devices, device_name) if device_name
                           else default_device(self.audio, devices))
            self.ring_device = (choose_device(devices, ring_device_name, need_input=False)
                                if ring_device_name else None)
        except SoundError:
            self.audio.terminate()
            raise
        if self.ring_device is not None and self.ring_device.index == self.device.index:
            self.ring_device = None  # the headset itself rings
        self.stream: Any = None
        self.ring_stream: Any = None
        self.callbacks = 0
        self.last_callback = 0.0
        self.failures = 0
        self._running = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._ringing = False

    @property
    def rings_on_headset(self) -> bool:
        return self.ring_device is None

    def start(self) -> None:
        self._open(self.device)
        self._running.set()
        self._watchdog = threading.Thread(target=self._watch, name="sound-watch", daemon=True)
        self._watchdog.start()

    def _open(self, device: SoundDevice) -> None:
        self.bridge.bind_device(device.rate)
        self.last_callback = time.monotonic()
        self.stream = self.audio.open(
            format=pyaudio.paInt16, channels=1, rate=device.rate, input=True, output=True,
            input_device_index=device.index, output_device_index=device.index,
            stream_callback=self._callback, start=True,
        )
        self.device = device
        log.info("headset audio on %s", device.describe())

    def _callback(self, in_data: bytes | None, frame_count: int, _time: Any,
                  _status: int) -> tuple[bytes, int]:
        self.callbacks += 1
        self.last_callback = time.monotonic()
        captured = np.frombuffer(in_data, dtype="<i2") if in_data else None
        out = self.bridge.device_block(captured, frame_count)
        return out.astype("<i2").tobytes(), pyaudio.paContinue

    def _watch(self) -> None:
        while self._running.wait(WATCH_INTERVAL) and self._running.is_set():
            stream = self.stream
            alive = False
            with contextlib.suppress(OSError, IOError, AttributeError):
                alive = stream is not None and stream.is_active()
            silent = time.monotonic() - self.last_callback > SILENT_SECONDS
            if self._running.is_set() and (not alive or silent):
                self._recover("stopped" if not alive else "went silent")

    def _recover(self, why: str) -> None:
        lost = self.device
        log.warning("sound device %s %s: the call stays up, moving to the default device",
                    lost.name, why)
        self.on_event("device_lost", device=lost.name, reason=why)
        self._close_streams()
        with contextlib.suppress(Exception):
            self.audio.terminate()
        deadline = time.monotonic() + 30.0
        while self._running.is_set() and time.monotonic() < deadline:
            try:
                self.audio = pyaudio.PyAudio()  # a fresh device list forgets the unplugged one
                self._open(default_device(self.audio, list_devices(self.audio)))
                self.on_event("device_resumed", device=self.device.name, rate=self.device.rate)
                log.info("headset audio resumed on %s", self.device.describe())
                if self._ringing:
                    self.ring(True)
                return
            except (SoundError, OSError) as error:
                self.failures += 1
                with contextlib.suppress(Exception):
                    self.audio.terminate()
                log.debug("no default device yet: %s", error)
                time.sleep(0.5)
        if self._running.is_set():
            self.on_event("device_missing", reason="no sound device came back within 30 s")

    def ring(self, on: bool) -> None:
        """Ring on the headset (mixed into its output) or on the chosen ring device."""
        self._ringing = on
        if self.rings_on_headset:
            if on:
                self.bridge.ring_tone.reset()
            self.bridge.ringing = on
            return
        if on and self.ring_stream is None and self.ring_device is not None:
            tone = RingTone(self.ring_device.rate)

            def play(_in: bytes | None, frames: int, _t: Any, _s: int) -> tuple[bytes, int]:
                return tone.next(frames).astype("<i2").tobytes(), pyaudio.paContinue

            self.ring_stream = self.audio.open(
                format=pyaudio.paInt16, channels=1, rate=self.ring_device.rate, output=True,
                output_device_index=self.ring_device.index, stream_callback=play, start=True,
            )
        elif not on and self.ring_stream is not None:
            with contextlib.suppress(OSError, IOError):
                self.ring_stream.stop_stream()
                self.ring_stream.close()
            self.ring_stream = None

    def _close_streams(self) -> None:
        for stream in (self.stream, self.ring_stream):
            if stream is not None:
                with contextlib.suppress(OSError, IOError):
                    stream.stop_stream()
                with contextlib.suppress(OSError, IOError):
                    stream.close()
        self.stream = None
        self.ring_stream = None

    def stop(self) -> None:
        self._running.clear()
        if self._watchdog is not None:
            self._watchdog.join(timeout=2)
        self._close_streams()
        with contextlib.suppress(Exception):
            self.audio.terminate()
