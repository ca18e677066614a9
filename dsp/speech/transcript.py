"""What the speech client hands a call leg: a partial or final transcript, timed on the caller's
own audio (seconds since the first frame fed to the client)."""

from __future__ import annotations

from dataclasses import dataclass

from dsp.speech.protocol import Timed, Word


@dataclass(frozen=True)
class Transcript(Timed):
    """A partial or final result; times are seconds since the first frame fed to the client."""

    text: str
    final: bool
    words: tuple[Word, ...]
    audio_end: float  # end of the audio this result accounts for
    received_at: float  # time.monotonic() when it arrived
    #: how long after the last frame it accounts for was fed to the client (queue, network,
    #: the recognizer's decoding): the recognizer's lag as the call leg sees it
    lag_ms: float | None = None
