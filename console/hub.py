"""In-process fan-out of live events to browser streams: one topic per agent, one for supervisors.

The hub also remembers which agent and worker each live call belongs to, so call controls and
transcript lines reach the right place, and the last screen pop per agent for a page reload.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

SUPERVISORS = "supervisors"
_BACKLOG = 256  # events a slow browser may fall behind before it is dropped
_CALLS_KEPT = 5_000  # calls whose wrap-up never came are forgotten, oldest first


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"


@dataclass
class LiveCall:
    call_id: str
    agent_id: int
    worker: str
    worker_url: str
    customer_id: int | None
    state: str = "ringing"


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[queue.Queue[tuple[str, Any]]]] = {}
        self._calls: dict[str, LiveCall] = {}
        self._last_pop: dict[int, dict[str, Any]] = {}

    def subscribe(self, topic: str) -> queue.Queue[tuple[str, Any]]:
        inbox: queue.Queue[tuple[str, Any]] = queue.Queue(_BACKLOG)
        with self._lock:
            self._subscribers.setdefault(topic, []).append(inbox)
        return inbox

    def unsubscribe(self, topic: str, inbox: queue.Queue[tuple[str, Any]]) -> None:
        with self._lock:
            inboxes = self._subscribers.get(topic, [])
            if inbox in inboxes:
                inboxes.remove(inbox)

    def publish(self, topic: str, name: str, data: Any) -> None:
        with self._lock:
            inboxes = list(self._subscribers.get(topic, []))
        for inbox in inboxes:
            try:
                inbox.put_nowait((name, data))
            except queue.Full:
                self.unsubscribe(topic, inbox)

    def is_subscribed(self, topic: str, inbox: queue.Queue[tuple[str, Any]]) -> bool:
        """False once the hub dropped *inbox* for falling behind."""
        with self._lock:
            return inbox in self._subscribers.get(topic, [])

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(inboxes) for inboxes in self._subscribers.values())

    def track(self, call: LiveCall) -> None:
        with self._lock:
            self._calls.pop(call.call_id, None)
            self._calls[call.call_id] = call
            while len(self._calls) > _CALLS_KEPT:
                del self._calls[next(iter(self._calls))]

    def call(self, call_id: str) -> LiveCall | None:
        with self._lock:
            return self._calls.get(call_id)

    def calls(self) -> list[LiveCall]:
        with self._lock:
            return list(self._calls.values())

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def remember_pop(self, agent_id: int, pop: dict[str, Any]) -> None:
        with self._lock:
            self._last_pop[agent_id] = pop

    def clear_pop(self, agent_id: int) -> None:
        with self._lock:
            self._last_pop.pop(agent_id, None)

    def last_pop(self, agent_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._last_pop.get(agent_id)
