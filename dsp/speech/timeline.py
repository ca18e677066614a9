"""How one connection's audio maps onto the caller's timeline: the client samples it carried,
where it broke off and went on, the chunks still unanswered and what has been finalised."""

from __future__ import annotations

from collections import deque


class StreamTimeline:
    """One connection's bookkeeping: which client samples it carried and what got finalised."""

    def __init__(self) -> None:
        self.sent_to = -1  # client sample position after the last chunk sent (-1: none yet)
        self.finalised_to = -1  # client sample position up to which a final result arrived
        self.stream_samples = 0  # samples this connection carried (Vosk's own timeline)
        self.breaks: list[tuple[int, int]] = []  # (stream sample, client sample offset)
        self.pending: deque[int] = deque()  # client sample end of each unanswered chunk
        self.answers = 0  # replies received on this connection
        self.muted: set[int] = set()  # numbers (1, 2, ...) of replies not to deliver
        self.last_partial = ""
        self.utterance_open = False  # audio went out since the last final was asked for

    def carry(self, start: int, samples: int) -> None:
        """A chunk of *samples* from client sample *start* goes out on this connection."""
        if self.sent_to != start:
            self.breaks.append((self.stream_samples, start - self.stream_samples))
            if self.finalised_to < 0:
                self.finalised_to = start
        self.stream_samples += samples
        self.utterance_open = True
        self.sent_to = start + samples
        self.pending.append(self.sent_to)

    def client_samples(self, stream_seconds: float, rate: float) -> float:
        """The client sample position of a time on the connection's (Vosk's) timeline."""
        position = stream_seconds * rate
        offset = self.breaks[0][1] if self.breaks else 0
        for at, shift in self.breaks:
            if at <= position + 1:
                offset = shift
        return position + offset
