"""Test speech for the DSP tests: espeak-ng renders, cached under var/cache/test-speech."""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ivr.prompts import read_wav

CACHE = Path(__file__).resolve().parents[2] / "var" / "cache" / "test-speech"

PASSAGES = {
    "en": (
        "Hello, thank you for calling. Please say or key in your account number, followed by "
        "the hash key. I would like to talk to somebody about my bill, it is much higher than "
        "last month. Seven, three, nine, one, zero, four, eight, two, six, five. Can you hear "
        "me now? The quick brown fox jumps over the lazy dog while the telephone keeps ringing."
    ),
    "it": (
        "Buongiorno, grazie per aver chiamato. Vorrei parlare con un operatore della mia "
        "bolletta, che è molto più alta del mese scorso. Il mio numero di conto è sette, tre, "
        "nove, uno, zero, quattro, otto, due. Mi sente adesso? Per favore mi richiami domani."
    ),
    "ko": (
        "안녕하세요, 전화해 주셔서 감사합니다. 계좌 번호를 말씀하시거나 입력해 주세요. "
        "요금이 지난달보다 훨씬 많이 나왔어요. 칠, 삼, 구, 일, 영, 사, 팔, 이. "
        "지금 제 말 들리세요? 내일 아침에 다시 전화 주세요."
    ),
}


def espeak(
    text: str,
    voice: str = "en-us",
    pitch: int = 50,
    amplitude: int = 100,
    words_per_minute: int = 160,
    clock_rate: int = 8000,
) -> np.ndarray:
    """int16 speech from espeak-ng with explicit pitch (-p 0..99) and amplitude (-a 0..200)."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed for test speech")
    key = hashlib.sha1(
        f"{voice}|{pitch}|{amplitude}|{words_per_minute}|{clock_rate}|{text}".encode()
    )
    target = CACHE / f"espeak-{key.hexdigest()[:16]}.wav"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            raw, staged = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-p", str(pitch), "-a", str(amplitude),
                 "-s", str(words_per_minute), "-w", str(raw), text],
                check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                ["sox", str(raw), "-r", str(clock_rate), "-c", "1", "-b", "16",
                 "-e", "signed-integer", str(staged)],
                check=True, capture_output=True,
            )  # fmt: skip
            shutil.move(staged, target)
    samples, _ = read_wav(target)
    return samples
