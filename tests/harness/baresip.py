"""A real baresip 1.0.0 (Debian) as a third-party phone in tests, driven over its ctrl_tcp socket.

baresip runs headless with its own configuration directory: `aufile` plays an 8 kHz WAV as its
microphone (the file must outlast the call: at its end baresip hangs up), the `sndfile` filter
dumps what it sends and hears as WAVs (``dump-*-enc.wav`` / ``dump-*-dec.wav``), and `ctrl_tcp`
takes netstring JSON commands (``{"command": "dial", "params": ..., "token": ...}``) and reports
every user-agent event (REGISTER_OK, CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, ...). The
account is created over the socket (``uanew``) once it is connected, so no event is missed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from dsp.g711 import alaw_decode, ulaw_decode
from ivr.prompts import write_wav
from telephony.testing.ports import free_port

MODULES = Path("/usr/lib/baresip/modules")
RATE = 8000


class BaresipError(AssertionError):
    """baresip refused a command, or an awaited event did not come in time."""


def tone_wav(path: Path, freq: float, seconds: float = 120.0, dbfs: float = -12.0) -> Path:
    """An 8 kHz sine WAV long enough for any test call (aufile hangs up at its end)."""
    t = np.arange(int(RATE * seconds)) / RATE
    amplitude = 32767 * 10 ** (dbfs / 20)
    return write_wav(path, (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16), RATE)


def silence_wav(path: Path, seconds: float = 120.0) -> Path:
    return write_wav(path, np.zeros(int(RATE * seconds), dtype=np.int16), RATE)


def _netstrings(buffer: bytearray) -> list[bytes]:
    """Cut complete netstrings (``len:payload,``) off the front of *buffer*."""
    out: list[bytes] = []
    while True:
        colon = buffer.find(b":")
        if colon < 0:
            return out
        length = int(buffer[:colon])
        end = colon + 1 + length
        if len(buffer) < end + 1:
            return out
        out.append(bytes(buffer[colon + 1 : end]))
        del buffer[: end + 1]


class Baresip:
    """One baresip process; its events are kept in order and consumed by `wait_for`."""

    def __init__(self, root: Path, name: str, source: Path) -> None:
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.sip_port = self._even_port()
        self.ctrl_port = free_port()
        self.rtp_low = self._even_port()
        self.events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._replies: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._tokens = itertools.count(1)
        self._write_config(source)
        self.log_path = self.root / "baresip.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.root)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.sock = self._connect()
        except BaseException:
            self.stop()
            raise
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @staticmethod
    def _even_port() -> int:
        """A free port whose successor is free too (baresip binds TLS on SIP port + 1, RTCP
        on RTP port + 1)."""
        for _ in range(50):
            port = free_port()
            if port % 2 == 0 and port < 65534:
                with (
                    contextlib.suppress(OSError),
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe,
                ):
                    probe.bind(("127.0.0.1", port + 1))
                    return port
        raise BaresipError("no pair of free ports")

    def _write_config(self, source: Path) -> None:
        dumps = self.root / "dumps"
        dumps.mkdir(exist_ok=True)
        lines = {
            "poll_method": "epoll",
            "sip_listen": f"127.0.0.1:{self.sip_port}",
            "net_interface": "127.0.0.1",
            "audio_player": "aufile,/dev/null",  # 1.0.0 has no aufile player: nothing plays,
            # and the sndfile filter dumps what it decodes
            "audio_source": f"aufile,{source}",
            "audio_alert": "aufile,/dev/null",
            "rtp_ports": f"{self.rtp_low}-{self.rtp_low + 1}",
            "jitter_buffer_delay": "2-10",
            "module_path": str(MODULES),
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}",
            "snd_path": str(dumps),
            "call_max_calls": "2",
        }
        body = [f"{key}\t{value}" for key, value in lines.items()]
        body += [f"module\t{m}" for m in ("g711.so", "aufile.so", "sndfile.so")]
        body += [f"module_app\t{m}" for m in ("menu.so", "ctrl_tcp.so")]
        (self.root / "config").write_text("\n".join(body) + "\n")
        (self.root / "accounts").write_text("")  # the account comes over ctrl_tcp
        (self.root / "contacts").write_text("")

    def _connect(self, timeout: float = 10.0) -> socket.socket:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BaresipError(f"baresip exited: {self.log_path.read_text()[-2000:]}")
            try:
                return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
            except OSError:
                if time.monotonic() > deadline:
                    raise BaresipError(f"ctrl_tcp not listening: {self.log()}") from None
                time.sleep(0.05)  # the port opens once baresip has loaded its modules

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def _read(self) -> None:
        buffer = bytearray()
        self.sock.settimeout(None)
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buffer.extend(data)
            for payload in _netstrings(buffer):
                message = json.loads(payload)
                with self._changed:
                    if message.get("response"):
                        self._replies[str(message.get("token"))] = message
                    elif message.get("event"):
                        message["t"] = time.monotonic()
                        self.events.append(message)
                    self._changed.notify_all()
        with self._changed:
            self.events.append({"type": "EXITED", "t": time.monotonic()})
            self._changed.notify_all()

    # -- commands and events --------------------------------------------------------------------
    def command(self, command: str, params: str = "", timeout: float = 10.0) -> str:
        """Run a menu command; returns its text output (raises when baresip says not ok)."""
        token = f"{self.name}-{next(self._tokens)}"
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        self.sock.sendall(str(len(payload)).encode() + b":" + payload + b",")
        deadline = time.monotonic() + timeout
        with self._changed:
            while token not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BaresipError(f"{self.name}: no answer to {command} within {timeout} s")
                self._changed.wait(left)
            reply = self._replies.pop(token)
        if not reply.get("ok"):
            raise BaresipError(f"{self.name}: {command} {params!r} failed: {reply}")
        return str(reply.get("data", ""))

    def wait_for(self, kind: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        """The first not yet consumed event of *kind* (e.g. ``CALL_ESTABLISHED``) whose fields
        match *fields*; raises after *timeout* with the last events seen."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, item in enumerate(self.events):
                    if index in self._consumed or item.get("type") != kind:
                        continue
                    if all(item.get(k) == v for k, v in fields.items()):
                        self._consumed.add(index)
                        return item
                if self.events and self.events[-1].get("type") == "EXITED":
                    raise BaresipError(f"{self.name}: baresip is gone: {self.log()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(e.get("type"), e.get("param")) for e in self.events[-10:]]
                    raise BaresipError(
                        f"{self.name}: no {kind} {fields or ''} within {timeout} s; saw {seen}"
                    )
                self._changed.wait(left)

    def seen(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e.get("type") == kind]

    # -- a phone user's verbs -------------------------------------------------------------------
    def register(
        self,
        user: str,
        password: str,
        domain: str,
        proxy: str,
        codecs: str = "PCMU,PCMA",
        answermode: str = "manual",
    ) -> dict[str, Any]:
        """Create the account (``sip:user@domain`` via the outbound *proxy* ``host:port``) and
        await its registration; *codecs* is the account's offer, e.g. ``PCMA`` alone."""
        self.aor = f"sip:{user}@{domain}"
        account = (
            f'<{self.aor}>;auth_pass={password};outbound="sip:{proxy}";regint=60'
            f";audio_codecs={codecs};answermode={answermode};ptime=20"
        )
        self.command("uanew", account)
        event = self.wait_for("REGISTER_OK", timeout=15)
        return event

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def accept(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    def hold(self) -> None:
        """Put the call on hold (a re-INVITE with a=sendonly); returns once it is answered."""
        self._renegotiate("hold")

    def resume(self) -> None:
        self._renegotiate("resume")

    def _renegotiate(self, command: str) -> None:
        with self._changed:  # earlier answers (the call's own) are not this one's
            self._consumed.update(
                i for i, e in enumerate(self.events) if e.get("type") == "CALL_REMOTE_SDP"
            )
        self.command(command)
        self.wait_for("CALL_REMOTE_SDP", param="answer")

    def send_digits(self, digits: str) -> None:
        """Press keys; baresip sends them as RFC 4733 telephone events."""
        for digit in digits:
            self.command("sndcode", digit)

    def switch_source(self, wav: Path) -> None:
        """Play another 8 kHz WAV as the microphone from now on."""
        self.command("ausrc", f"aufile,{wav}")

    # -- what it sent and heard ----------------------------------------------------------------
    def dump(self, which: str) -> Path:
        """The ``enc`` (sent) or ``dec`` (heard) dump of the last call; complete once the call
        is closed (libsndfile writes the header when the stream ends)."""
        found = sorted((self.root / "dumps").glob(f"dump-*-{which}.wav"), key=os.path.getmtime)
        if not found:
            raise BaresipError(f"{self.name}: no {which} dump in {self.root / 'dumps'}")
        return found[-1]

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(AttributeError, OSError):
            self.sock.close()


class RtpWatch:
    """Counts the RTP payload types to and from one UDP port as they cross loopback (a raw
    packet socket on ``lo``; root): what was negotiated is checked on the wire, not in logs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sent: dict[int, int] = {}  # payload type -> packets from the port
        self.received: dict[int, int] = {}  # payload type -> packets to the port
        self.arrivals: list[tuple[float, int, int, int, bytes]] = []  # to the port: (t, seq,
        # ssrc, payload type, payload)
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtp-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                frame, address = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] == socket.PACKET_OUTGOING:  # loopback shows each packet twice
                continue
            ip = frame[14:]  # the loopback device's frames carry a zeroed Ethernet header
            if len(ip) < 20 or ip[9] != socket.IPPROTO_UDP:
                continue
            udp = ip[(ip[0] & 0x0F) * 4 :]
            if len(udp) < 8 + 12 or udp[8] >> 6 != 2:
                continue
            source, target = int.from_bytes(udp[0:2], "big"), int.from_bytes(udp[2:4], "big")
            payload_type = udp[9] & 0x7F
            if payload_type >= 72 and payload_type <= 76:  # RTCP shares the version bits
                continue
            for port, counts in ((source, self.sent), (target, self.received)):
                if port == self.port:
                    counts[payload_type] = counts.get(payload_type, 0) + 1
            if target == self.port:
                rtp = udp[8:]
                seq, ssrc = int.from_bytes(rtp[2:4], "big"), int.from_bytes(rtp[8:12], "big")
                header = 12 + 4 * (rtp[0] & 0x0F)
                self.arrivals.append((time.monotonic(), seq, ssrc, payload_type, rtp[header:]))

    def audio_received(self, after: float, payload_type: int) -> np.ndarray:
        """The G.711 audio sent to the port since monotonic time *after*, decoded in arrival
        order (what the wire carried, whatever the phone made of it)."""
        decode = {0: ulaw_decode, 8: alaw_decode}[payload_type]
        chunks = [
            decode(p) for t, _, _, pt, p in list(self.arrivals) if t >= after and pt == payload_type
        ]
        return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._sock.close()
