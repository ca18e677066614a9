"""The speech service as a real subprocess on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"event=listening .*port=(\d+)")
#: The deployment token of the speech service in tests (workers pass their own, see `token`).
TOKEN = "speech-test-token-0123456789abcdefghij"


class SpeechServiceProcess:
    """`python -m dsp.speech.server` on a free loopback port; restartable on the same port.

    It wants *token* (a deployment's, when workers use it) and takes extra arguments such as
    ``--limit max_streams=2``; *command* may name ``-m telephony.cli speech --config FILE``
    instead (the deployment's models, pid file and reload on SIGHUP)."""

    def __init__(
        self,
        log_dir: Path,
        token: str = TOKEN,
        args: tuple[str, ...] = (),
        command: tuple[str, ...] = ("-m", "dsp.speech.server"),
        port: int = 0,
    ) -> None:
        self.port = port
        self.command = command
        self.log_dir = log_dir
        self.token = token
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self.starts = 0

    def url(self, locale: str = "ko") -> str:
        return f"ws://127.0.0.1:{self.port}/{locale}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, timeout: float = 60.0) -> None:
        """Start the service and return once it logs that it listens (no polling, no sleeps)."""
        self.starts += 1
        command = [sys.executable, *self.command, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", "2", *self.args]
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "CENTRALINO_DEPLOYMENT_TOKEN": self.token},
        )
        self.proc = proc
        ready = threading.Event()
        log = (self.log_dir / f"speech-{self.starts}.log").open("w")

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                log.write(line)
                log.flush()
                with self._new_line:
                    self.lines.append(line)
                    self._new_line.notify_all()
                found = LISTENING.search(line)
                if found:
                    self.port = int(found.group(1))
                    ready.set()
            log.close()
            ready.set()  # the process ended: stop waiting

        threading.Thread(target=pump, name="speech-service-log", daemon=True).start()
        if not ready.wait(timeout) or proc.poll() is not None:
            self.stop()
            raise RuntimeError("speech service did not start:\n" + "".join(self.lines[-20:]))

    def logged(self, text: str, times: int = 1, timeout: float = 10.0) -> bool:
        """Whether the service has written *times* lines containing *text* within *timeout* (its
        log is read by a thread, so a line about what a client just saw may be on its way)."""
        with self._new_line:
            return self._new_line.wait_for(
                lambda: sum(text in line for line in self.lines) >= times, timeout
            )

    def kill(self) -> None:
        """SIGKILL: the service dies without closing its streams."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
