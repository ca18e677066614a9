"""Prompt audio with the real espeak-ng and sox: rendering, and checked recorded uploads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ivr.prompts import (
    TARGET_PEAK,
    PromptError,
    import_recording,
    inspect_recording,
    prompt_audio,
    read_wav,
    render_prompt,
)


def tone(path: Path, seconds: float = 1.0, rate: int = 16000, channels: int = 2, vol=0.3) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", str(rate), "-c", str(channels), str(path),
         "synth", str(seconds), "sine", "440", "vol", str(vol)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


def test_recording_is_converted_to_mono_16_bit_and_levelled(tmp_path: Path) -> None:
    source = tone(tmp_path / "greeting.flac")
    stored = import_recording(source, tmp_path / "rec", "default", "greeting", "it")
    assert stored == tmp_path / "rec" / "default" / "greeting.it.wav"
    samples, rate = read_wav(stored)
    assert rate == 8000
    assert len(samples) == pytest.approx(8000, abs=16)
    assert abs(int(np.max(np.abs(samples.astype(np.int32)))) - TARGET_PEAK) < 50
    assert inspect_recording(stored).channels == 1


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: tone(p / "short.wav", seconds=0.1), "short.wav: 0.1 s long; a prompt lasts"),
        (lambda p: tone(p / "long.wav", seconds=121, rate=8000, channels=1), "121.0 s long"),
        (lambda p: tone(p / "low.wav", rate=4000), "low.wav: sampled at 4000 Hz"),
        (lambda p: tone(p / "quad.wav", channels=4), "quad.wav: 4 channels; mono or stereo"),
        (lambda p: tone(p / "quiet.wav", vol=0), "quiet.wav: the recording is silent"),
        (lambda p: p / "missing.wav", "missing.wav: no such file"),
    ],
)
def test_bad_recordings_are_refused_and_nothing_is_stored(tmp_path: Path, make, error) -> None:
    source = make(tmp_path)
    with pytest.raises(PromptError, match=re.escape(error)):
        import_recording(source, tmp_path / "rec", "default", "greeting", "en")
    assert not (tmp_path / "rec" / "default" / "greeting.en.wav").exists()


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    source = tmp_path / "notes.wav"
    source.write_text("hello, this is not audio")
    with pytest.raises(PromptError, match=re.escape("notes.wav: not an audio file sox can read")):
        import_recording(source, tmp_path / "rec", "default", "greeting", "en")


def test_names_cannot_escape_the_recordings_folder(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=re.escape("prompt name '../x' is not usable")):
        import_recording(tone(tmp_path / "a.wav"), tmp_path, "default", "../x", "en")


def test_recording_wins_over_rendered_speech(tmp_path: Path) -> None:
    recordings, cache = tmp_path / "rec", tmp_path / "cache"
    spoken = prompt_audio("greeting", "Hello", "en", "default", recordings, cache)
    assert spoken == render_prompt("Hello", "en", cache)
    import_recording(tone(tmp_path / "g.wav"), recordings, "default", "greeting", "en")
    recorded = prompt_audio("greeting", "Hello", "en", "default", recordings, cache)
    assert recorded == recordings / "default" / "greeting.en.wav"
    wide = prompt_audio("greeting", "Hello", "en", "default", recordings, cache, 16000)
    assert read_wav(wide)[1] == 16000
