"""The worker's event bus: call events fanned out to bounded subscriber queues (the SSE stream)."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Subscription:
    """One listener's queue; falling more than *capacity* events behind loses the oldest."""

    def __init__(self, bus: EventBus, capacity: int) -> None:
        self._bus = bus
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=capacity)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Publish never blocks: it stamps the event and offers it to every subscription."""

    def __init__(self, worker: str, capacity: int = 1000) -> None:
        self.worker = worker
        self.capacity = capacity
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, self.capacity)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def publish(
        self, kind: str, call_id: str | None, leg_id: str | None = None, /, **data: Any
    ) -> Event:
        event: Event = {"type": kind, "call_id": call_id, "worker": self.worker, "at": now_iso()}
        if leg_id is not None:
            event["leg_id"] = leg_id
        event.update(data)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(event)
        return event
