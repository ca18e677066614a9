"""Sound devices as PortAudio lists them, and the sound card's own process: it owns PortAudio,
runs the device's full-duplex callback stream at its native rate, and trades raw blocks with
the headset over a socket.

PortAudio cannot always let go of a device that vanished: with the device gone, its callback
thread can block for ever, and stopping the stream or terminating PortAudio then waits for it
(seen with JACK and with ALSA's jack plugin). Out here, the headset can kill a stuck card and
start a fresh one, whose new device list no longer has the unplugged device.

Wire format, both ways: one kind byte, a 4-byte little-endian length, the payload.
Card -> headset: ``I`` device info (JSON), ``E`` error (JSON), ``C`` a captured block (int16).
Headset -> card: ``P`` a block to play (int16), ``R`` ring on the ring device (``1``/``0``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import socket
import struct
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import pyaudio

HEADER = struct.Struct("<cI")
#: Blocks to play kept at most (the headset answers each capture with one): bounds latency.
MAX_QUEUED = 4


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


_ALSA_ERROR_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_SILENCE: Any = None


def quiet_alsa() -> None:
    """Keep ALSA's probing complaints ("Unknown PCM ...") off the agent's terminal, unless
    ``CENTRALINO_ALSA_DEBUG`` is set: PortAudio tries every configured PCM."""
    global _SILENCE
    if os.environ.get("CENTRALINO_ALSA_DEBUG") or _SILENCE is not None:
        return
    try:
        asound = ctypes.cdll.LoadLibrary("libasound.so.2")
    except OSError:
        return  # not Linux, or no ALSA: nothing to quiet
    _SILENCE = _ALSA_ERROR_HANDLER(lambda *_: None)
    asound.snd_lib_error_set_handler(_SILENCE)


def send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(HEADER.pack(kind, len(payload)) + payload)


def receive(sock: socket.socket) -> tuple[bytes, bytes]:
    header = _exactly(sock, HEADER.size)
    kind, length = HEADER.unpack(header)
    return kind, _exactly(sock, length)


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the other side closed")
        data += chunk
    return bytes(data)


class Card:
    def __init__(self, sock: socket.socket, device: str | None, ring_device: str | None) -> None:
        from hardware.headset.ringer import RingTone

        self.sock = sock
        self.pyaudio = pyaudio
        quiet_alsa()
        self.audio = pyaudio.PyAudio()
        devices = list_devices(self.audio)
        try:
            if not devices:
                raise SoundError("no sound device found: plug in the headset (or check "
                                 "PortAudio)")
            self.device = (choose_device(devices, device) if device
                           else default_device(self.audio, devices))
            self.ring_device = (choose_device(devices, ring_device, need_input=False)
                                if ring_device else None)
        except SoundError as error:
            send(sock, b"E", json.dumps({"error": str(error)}).encode())
            raise SystemExit(5) from error
        self.ring_tone = RingTone(self.ring_device.rate) if self.ring_device else None
        self.ring_stream: Any = None
        self.queued: deque[bytes] = deque()
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()

    def run(self) -> None:
        stream = self.audio.open(
            format=self.pyaudio.paInt16, channels=1, rate=self.device.rate, input=True,
            output=True, input_device_index=self.device.index,
            output_device_index=self.device.index, stream_callback=self.callback, start=False,
        )
        info = {"name": self.device.name, "rate": self.device.rate,
                "describe": self.device.describe(),
                "ring_device": self.ring_device.name if self.ring_device else None}
        send(self.sock, b"I", json.dumps(info).encode())
        stream.start_stream()
        while True:
            try:
                kind, payload = receive(self.sock)
            except (EOFError, OSError):
                os._exit(0)  # the headset went away: do not wait for PortAudio
            if kind == b"P":
                with self.lock:
                    self.queued.append(payload)
                    while len(self.queued) > MAX_QUEUED:
                        self.queued.popleft()
            elif kind == b"R":
                self.ring(payload == b"1")

    def callback(self, in_data: bytes | None, frames: int, _t: Any, _s: int) -> tuple[bytes, int]:
        if in_data:
            try:
                with self.send_lock:
                    send(self.sock, b"C", in_data)
            except OSError:
                os._exit(0)
        want = 2 * frames
        with self.lock:
            block = self.queued.popleft() if self.queued else b""
        if len(block) != want:
            block = (block + bytes(want))[:want]
        return block, self.pyaudio.paContinue

    def ring(self, on: bool) -> None:
        if self.ring_device is None or self.ring_tone is None:
            return
        if on and self.ring_stream is None:
            tone = self.ring_tone

            def play(_i: bytes | None, frames: int, _t: Any, _s: int) -> tuple[bytes, int]:
                return tone.next(frames).astype("<i2").tobytes(), self.pyaudio.paContinue

            self.ring_stream = self.audio.open(
                format=self.pyaudio.paInt16, channels=1, rate=self.ring_device.rate,
                output=True, output_device_index=self.ring_device.index,
                stream_callback=play, start=True,
            )
        elif not on and self.ring_stream is not None:
            self.ring_stream.stop_stream()
            self.ring_stream.close()
            self.ring_stream = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the headset's sound card process (internal)")
    parser.add_argument("--fd", type=int, required=True, help="the socket to the headset")
    parser.add_argument("--device")
    parser.add_argument("--ring-device")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    os.dup2(2, 1)  # PortAudio's and ALSA's chatter goes to stderr, never into the socket
    Card(sock, args.device, args.ring_device).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
