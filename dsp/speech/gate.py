"""Gated live transcription: only the voiced stretches of a leg, with a little padding, go to
the recognizer; the silence between them is skipped (the client's timeline still counts it, so
word times stay on the caller's own clock) and each stretch ends the recognizer's utterance."""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np

#: Audio kept before the first voiced frame (word onsets the VAD confirms late), in frames.
PRE_ROLL_FRAMES = 10  # 200 ms
#: Audio still sent after the VAD's own hangover has run out, in frames.
POST_ROLL_FRAMES = 5  # 100 ms


class GatedSink(Protocol):
    """What the gate drives: `dsp.speech.client.SpeechClient`."""

    def feed(self, frame: np.ndarray) -> None: ...

    def skip(self, samples: int) -> None: ...

    def end_utterance(self) -> None: ...


class SpeechGate:
    """Frames and their voice decision in; feed, skip and end-of-utterance out, in order."""

    def __init__(
        self, sink: GatedSink, pre_roll: int = PRE_ROLL_FRAMES, post_roll: int = POST_ROLL_FRAMES
    ) -> None:
        self.sink = sink
        self.post_roll = post_roll
        self._ring: deque[np.ndarray] = deque()
        self._pre_roll = pre_roll
        self._tail = 0
        self.open = False
        self.fed_frames = 0
        self.skipped_frames = 0

    def push(self, frame: np.ndarray, voiced: bool) -> None:
        if voiced:
            if not self.open:
                while self._ring:
                    self._feed(self._ring.popleft())
                self.open = True
            self._feed(frame)
            self._tail = self.post_roll
        elif self.open:
            self._feed(frame)
            self._tail -= 1
            if self._tail <= 0:
                self.open = False
                self.sink.end_utterance()
        else:
            self._ring.append(np.array(frame, dtype=np.int16))
            if len(self._ring) > self._pre_roll:
                self.skipped_frames += 1
                self.sink.skip(len(self._ring.popleft()))

    def _feed(self, frame: np.ndarray) -> None:
        self.fed_frames += 1
        self.sink.feed(frame)

    @property
    def fed_fraction(self) -> float:
        total = self.fed_frames + self.skipped_frames
        return self.fed_frames / total if total else 1.0
