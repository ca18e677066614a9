"""Driver of a `centralino headset --json` process for tests: start it, type commands, await
its events (JSON lines on stdout)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class HeadsetProcess:
    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        log = open(log_path, "w")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hardware.headset", "--json", *argv], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            start_new_session=True,
        )
        log.close()
        self.events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                with self._changed:
                    self.events.append(json.loads(line))
                    self._changed.notify_all()
        with self._changed:
            self.events.append({"event": "exited", "t": time.monotonic()})
            self._changed.notify_all()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_for(self, event: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
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
                    seen = [e for e in self.events if e.get("event") != "state"][-10:]
                    raise AssertionError(f"headset: no {event} {fields} in {timeout} s; saw "
                                         f"{seen}; log: {self.log_path.read_text()[-1500:]}")
                self._changed.wait(left)

    def seen(self, event: str) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e.get("event") == event]

    def exit_code(self, timeout: float = 20.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(timeout=8)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
