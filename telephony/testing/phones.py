"""Pytest-friendly driver of the test phone process: start it, send commands, await its events."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from telephony.testing.ports import rtp_base

ROOT = Path(__file__).resolve().parents[2]


class PhoneError(AssertionError):
    """The phone refused a command or an awaited event did not come in time."""


class Phone:
    """One test phone process; events are kept in order and consumed by `wait_for`."""

    def __init__(
        self, process: subprocess.Popen[str], name: str, address: str = "127.0.0.1"
    ) -> None:
        self.process = process
        self.name = name
        self.address = address
        self.events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._replies: dict[int, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.sip_port: int = int(self.wait_for("ready", timeout=20)["sip_port"])

    @classmethod
    def start(
        cls,
        name: str,
        auto_answer: bool = False,
        record_dir: Path | None = None,
        address: str = "127.0.0.1",
    ) -> Phone:
        """*address*: where the phone binds SIP and RTP (another interface than loopback when
        its peers sit in other network namespaces)."""
        argv = [sys.executable, "-m", "telephony.testing.phone", "--name", name]
        argv += ["--address", address]
        argv += ["--rtp-port", str(rtp_base(50))]
        if auto_answer:
            argv.append("--auto-answer")
        if record_dir is not None:
            argv += ["--record-dir", str(record_dir)]
        log = open(Path(os.environ.get("PHONE_LOG_DIR", "/tmp")) / f"phone-{name}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        log.close()
        try:
            return cls(process, name, address)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            raise

    @property
    def uri(self) -> str:
        return f"sip:{self.name}@{self.address}:{self.sip_port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            with self._changed:
                if "reply" in message:
                    self._replies[int(message["reply"])] = message
                else:
                    message["t"] = time.monotonic()
                    self.events.append(message)
                self._changed.notify_all()
        with self._changed:
            self.events.append({"event": "exited", "t": time.monotonic()})
            self._changed.notify_all()

    def command(self, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        number = next(self._ids)
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": number, "cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._changed:
            while number not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PhoneError(f"{self.name}: no reply to {cmd} within {timeout} s")
                self._changed.wait(left)
            reply = self._replies.pop(number)
        if not reply["ok"]:
            raise PhoneError(f"{self.name}: {cmd} failed: {reply.get('error')}")
        return reply

    def wait_for(self, event: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The first not yet consumed *event* whose fields match; raises after *timeout*."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, item in enumerate(self.events):
                    if index in self._consumed or item.get("event") != event:
                        continue
                    if all(item.get(k) == v for k, v in fields.items()):
                        self._consumed.add(index)
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PhoneError(
                        f"{self.name}: no {event} {fields or ''} within {timeout} s; "
                        f"saw {[e for e in self.events if e.get('event') != 'media'][-8:]}"
                    )
                self._changed.wait(left)

    def incoming_after(self, rings: int, timeout: float = 10.0) -> int:
        """The call of the first incoming call after the *rings* already seen (count them
        before the call is placed): the worker can report the call bridged before this phone's
        own report of the ring has been read, so the newest ring seen then is the previous one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = [e for e in self.events if e.get("event") == "incoming"]
                if len(seen) > rings:
                    return int(seen[rings]["call"])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PhoneError(
                        f"{self.name}: no incoming call after {rings} within {timeout} s"
                    )
                self._changed.wait(left)

    def seen(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        with self._changed:
            return [
                e
                for e in self.events
                if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
            ]

    # Verbs in the words of a phone user.
    def register(self, registrar: str, user: str, password: str, **extra: Any) -> dict[str, Any]:
        self.command("register", registrar=registrar, user=user, password=password, **extra)
        return self.wait_for("registered", timeout=10)

    def call(self, uri: str, headers: dict[str, str] | None = None) -> int:
        """Dial *uri*; *headers* go into the INVITE (e.g. ``Call-Info`` for intercom)."""
        return int(self.command("call", uri=uri, headers=headers or {})["call"])

    def answer(self, call: int, code: int = 200) -> None:
        self.command("answer", call=call, code=code)

    def hangup(self, call: int) -> None:
        self.command("hangup", call=call)

    def dtmf(self, call: int, digits: str, method: str = "rfc4733") -> None:
        self.command("dtmf", call=call, digits=digits, method=method)

    def play(self, call: int, wav: Path, loop: bool = False) -> None:
        self.command("play", call=call, wav=str(wav), loop=loop)

    def stats(self, call: int) -> dict[str, int]:
        """The call's received RTP: packets, lost on the wire, lost in the jitter buffer."""
        reply = self.command("stats", call=call)
        return {k: int(v) for k, v in reply.items() if k not in ("reply", "ok")}

    def tone(self, call: int, freq: float = 1000.0) -> None:
        self.command("tone", call=call, freq=freq)

    def echo(self, call: int, delay_ms: int = 60, gain_db: float | None = -12.0) -> None:
        """Send back what the phone hears (delayed, low-passed, attenuated); None: stop."""
        self.command("echo", call=call, delay_ms=delay_ms, gain_db=gain_db)

    def transfer(self, call: int, uri: str) -> None:
        """Blind transfer: send a REFER on *call* with Refer-To *uri*."""
        self.command("transfer", call=call, uri=uri)

    def silence(self, call: int) -> None:
        self.command("silence", call=call)

    def hold(self, call: int) -> None:
        self.command("hold", call=call)

    def unhold(self, call: int) -> None:
        self.command("unhold", call=call)

    def request_stop(self) -> None:
        """Ask the phone to quit without waiting (stop several phones in parallel)."""
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.write(json.dumps({"id": 0, "cmd": "quit"}) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
