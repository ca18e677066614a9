"""Pure parts of the worker's queueing: callback numbers, phrases per locale, hold music."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivr.prompts import read_wav
from telephony.queue_phrases import CALLBACK_TEXTS, POSITION_TEXTS, phrase
from telephony.queueing import caller_number, music_wav


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ('"Ann" <sip:2001@pbx.example.org>', "2001"),
        ("<sip:+390612345@carrier.example;user=phone>", "+390612345"),
        ("sip:caller@127.0.0.1:5080", "caller"),
        ("<tel:+390612345>", "+390612345"),
        ("<sip:pbx.example.org>", "sip:pbx.example.org"),
    ],
)
def test_the_callback_number_is_the_callers_user_part(uri: str, number: str) -> None:
    assert caller_number(uri) == number


def test_phrases_fall_back_to_english_with_an_english_voice() -> None:
    assert phrase(POSITION_TEXTS, "ko") == (POSITION_TEXTS["ko"], "ko")
    assert phrase(CALLBACK_TEXTS, "fr") == (CALLBACK_TEXTS["en"], "en")
    assert all("{position}" in text for text in POSITION_TEXTS.values())


def test_hold_music_is_a_quiet_8khz_melody_made_once(tmp_path: Path) -> None:
    path = music_wav(tmp_path)
    samples, rate = read_wav(path)
    assert rate == 8000 and len(samples) >= 4 * rate
    assert 0 < np.abs(samples).max() < 8000
    stamp = path.stat().st_mtime_ns
    assert music_wav(tmp_path) == path and path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
