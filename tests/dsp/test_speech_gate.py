"""The speech gate: voiced stretches with their padding are fed, silence is skipped, in order,
and each stretch ends the recognizer's utterance."""

from __future__ import annotations

import numpy as np

from dsp.speech.gate import SpeechGate


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def feed(self, frame: np.ndarray) -> None:
        self.calls.append(("feed", int(frame[0])))

    def skip(self, samples: int) -> None:
        self.calls.append(("skip", samples))

    def end_utterance(self) -> None:
        self.calls.append(("end", 0))


def test_voiced_stretches_are_fed_with_padding_and_the_rest_skipped() -> None:
    sink = Sink()
    gate = SpeechGate(sink, pre_roll=2, post_roll=2)
    voiced = [False] * 5 + [True] * 3 + [False] * 6
    for index, flag in enumerate(voiced):
        gate.push(np.full(160, index, dtype=np.int16), flag)
    assert sink.calls == [
        ("skip", 160),  # frames 0..2 fall out of the two-frame pre-roll
        ("skip", 160),
        ("skip", 160),
        ("feed", 3),  # the pre-roll
        ("feed", 4),
        ("feed", 5),  # voiced
        ("feed", 6),
        ("feed", 7),
        ("feed", 8),  # the post-roll
        ("feed", 9),
        ("end", 0),
        ("skip", 160),  # frames 10 and 11 fall out of the pre-roll behind 12 and 13
        ("skip", 160),
    ]
    assert gate.fed_frames == 7 and gate.skipped_frames == 5
    # every frame is fed, skipped, or still waiting in the pre-roll: the timeline is whole
    assert gate.fed_frames + gate.skipped_frames + 2 == len(voiced)
