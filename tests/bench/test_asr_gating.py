"""The gating bench's word error count and its dialogue material."""

from __future__ import annotations

import numpy as np

from bench.asr import Material
from bench.asr_gating import dialogue, word_errors, words


def test_word_errors_count_substitutions_insertions_and_deletions() -> None:
    reference = words("안녕하세요. 오늘 기분이 아주 좋습니다.")
    assert reference == ["안녕하세요", "오늘", "기분이", "아주", "좋습니다"]
    assert word_errors(reference, reference) == 0
    assert word_errors(reference, ["안녕하세요", "오늘", "기분", "아주"]) == 2  # sub + del
    assert word_errors(reference, [*reference, "네"]) == 1
    assert word_errors(reference, []) == 5


def test_the_dialogue_leg_is_silent_while_the_other_party_talks() -> None:
    speech = np.full(800, 1000, dtype=np.int16)
    material = Material(np.zeros(1), [0.1, 0.3], [speech], [0.1, 0.1])
    leg = dialogue(material)
    assert leg.speech_ends == [0.1, 0.1 + 0.1 + 0.1 + 0.1]
    assert len(leg.samples) == 2 * (800 + 800 + 800)
    assert np.count_nonzero(leg.samples) == 1600
