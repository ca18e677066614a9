"""Virtual time: a clock the store reads (`store.clock.use`) and a heap of due actions."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime, timedelta

Action = Callable[[], None]


class VirtualClock:
    """Seconds since *start*; `at` schedules an action, `run` performs them in time order
    (ties in the order they were scheduled), so a run is the same every time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.seconds = 0.0
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = 0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def at(self, seconds: float, action: Action) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (max(seconds, self.seconds), self._seq, action))

    def after(self, delay: float, action: Action) -> None:
        self.at(self.seconds + delay, action)

    def run(self, settle: Callable[[], None]) -> None:
        """Perform every action; after all actions of one instant, call *settle* once."""
        while self._heap:
            instant = self._heap[0][0]
            self.seconds = instant
            while self._heap and self._heap[0][0] == instant:
                heapq.heappop(self._heap)[2]()
            settle()
