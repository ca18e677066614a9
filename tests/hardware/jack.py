"""A clocked sound card for tests: a JACK dummy server on its own name, and the "room" around
the headset (a PortAudio client in the test that speaks into the headset's microphone and
listens to its earpiece), wired with jack_connect."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

RATE = 48000
PERIOD = 1024


def jack_env(name: str) -> dict[str, str]:
    # clients must never start a server of their own (libjack would, by default)
    return {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1",
            "JACK_NO_START_SERVER": "1"}


def jack(name: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), env=jack_env(name), capture_output=True, text=True,
                          timeout=10)


def ports(name: str) -> list[str]:
    return [p for p in jack(name, "jack_lsp").stdout.splitlines() if p]


@dataclass
class JackServer:
    name: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if shutil.which("jackd") is None:
            raise AssertionError("jackd is missing: scripts/install.sh test installs jackd2")
        self.process = subprocess.Popen(
            ["jackd", "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD)],
            env=jack_env(self.name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while "system:playback_1" not in ports(self.name):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"jackd {self.name} did not come up")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None


@contextmanager
def jack_server() -> Iterator[JackServer]:
    server = JackServer(f"centralino-test-{uuid.uuid4().hex[:8]}")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def clients(name: str) -> dict[str, list[str]]:
    """JACK client name -> its ports, besides the dummy card's own ``system``."""
    found: dict[str, list[str]] = {}
    for port in ports(name):
        client = port.partition(":")[0]
        if client != "system":
            found.setdefault(client, []).append(port)
    return found


def first_port(client_ports: list[str], direction: str) -> str:
    """The first ``in``/``out`` port: PortAudio's JACK ports are ``in_0``, ``out_0``, ...;
    ALSA's jack plugin (a PortAudio ALSA device) names them ``in_000``, ``out_000``."""
    wanted = (f":{direction}_0", f":{direction}_000")
    return next(p for p in client_ports if p.endswith(wanted))


@dataclass
class Room:
    """The test's own JACK client: says *tone_hz* into the headset, records what it plays."""

    server: str
    tone_hz: float = 1000.0
    heard: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        import pyaudio

        os.environ.update(jack_env(self.server))
        self._before = clients(self.server)
        self._lock = threading.Lock()
        self._sample = 0
        self.audio = pyaudio.PyAudio()
        index = next(i for i in range(self.audio.get_device_count())
                     if "JACK" in self.audio.get_host_api_info_by_index(
                         int(self.audio.get_device_info_by_index(i)["hostApi"]))["name"])
        self.stream = self.audio.open(
            format=pyaudio.paInt16, channels=1, rate=RATE, input=True, output=True,
            input_device_index=index, output_device_index=index,
            stream_callback=self._callback, start=True,
        )

    def _callback(self, in_data: bytes | None, frames: int, _t: object,
                  _s: int) -> tuple[bytes, int]:
        import pyaudio

        if in_data:
            with self._lock:
                self.heard.append((time.monotonic(), np.frombuffer(in_data, "<i2").copy()))
        index = np.arange(self._sample, self._sample + frames)
        self._sample += frames
        voice = (8000 * np.sin(2 * math.pi * self.tone_hz * index / RATE)).astype("<i2")
        return voice.tobytes(), pyaudio.paContinue

    def wire(self) -> None:
        """Our voice into the headset's microphone, its earpiece into our ear (the headset is
        the one other client on the server)."""
        now = clients(self.server)
        mine = [c for c in now if c not in self._before]
        theirs = [port for client, ports_ in now.items() if client not in mine for port in ports_]
        assert len(mine) == 1 and theirs, now
        mouth, ear = first_port(now[mine[0]], "out"), first_port(now[mine[0]], "in")
        mic, earpiece = first_port(theirs, "in"), first_port(theirs, "out")
        for a, b in (("system:capture_1", mic), (earpiece, "system:playback_1"),
                     ("system:capture_1", ear)):
            jack(self.server, "jack_disconnect", a, b)
        for source, sink in ((mouth, mic), (earpiece, ear)):
            result = jack(self.server, "jack_connect", source, sink)
            assert result.returncode == 0, result.stderr

    def heard_between(self, start: float, end: float) -> np.ndarray:
        with self._lock:
            blocks = [b for t, b in self.heard if start <= t <= end]
        return np.concatenate(blocks).astype(np.float64) if blocks else np.zeros(0)

    def close(self) -> None:
        self.stream.stop_stream()
        self.stream.close()
        self.audio.terminate()
