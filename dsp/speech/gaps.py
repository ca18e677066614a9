"""The caller's audio that was never recognised (the service was down, the queue was full, the
client stopped), found as the speech client sends and reported as `SpeechGap`s."""

from __future__ import annotations

from dataclasses import dataclass

from dsp.speech.timeline import StreamTimeline


@dataclass(frozen=True)
class SpeechGap:
    """A stretch of the caller's audio that was never recognised (service down or queue full)."""

    start: float  # seconds since the first frame
    duration_ms: float
    reason: str


class LostAudio:
    """Where unrecognised audio began and why, on the client's sample timeline."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.lost_from: int | None = None  # client sample where unrecognised audio began
        self.reason = ""
        self.sent_to = 0  # client sample position after the last chunk sent on any connection

    def connection_lost(self, timeline: StreamTimeline, reason: str) -> None:
        """The connection died: audio it carried after its last final result is lost."""
        if timeline.sent_to > timeline.finalised_to >= 0 and self.lost_from is None:
            self.lost_from, self.reason = timeline.finalised_to, reason

    def sent(self, start: int, samples: int) -> SpeechGap | None:
        """A chunk went out: the audio before it that was lost or dropped, if any."""
        if self.lost_from is not None:
            lost_from, reason = self.lost_from, self.reason
        else:
            lost_from, reason = self.sent_to, "queue full"
        self.lost_from = None
        self.sent_to = start + samples
        return self._gap(lost_from, start - lost_from, reason) if start > lost_from else None

    def skipped(self, start: int, samples: int) -> None:
        """Audio left out on purpose (silence between the voiced stretches): not a gap."""
        if self.lost_from is None and start <= self.sent_to:
            self.sent_to = max(self.sent_to, start + samples)

    def stopped(self, fed: int) -> SpeechGap | None:
        """Stopping after *fed* samples: whatever was lost or never sent, if any."""
        if self.lost_from is not None:
            start, reason = self.lost_from, self.reason
        else:
            start, reason = self.sent_to, "stopped while the service was down"
        self.lost_from = None
        return self._gap(start, fed - start, reason) if fed > start else None

    def _gap(self, start: int, samples: int, reason: str) -> SpeechGap:
        rate = self.sample_rate
        return SpeechGap(start / rate, 1000.0 * samples / rate, reason)
