"""Refuses sign-in for a while after too many wrong passwords for one user from one address."""

from __future__ import annotations

import threading
import time
from collections import deque

_MAX_TRACKED = 10_000


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window_seconds:
            failures.popleft()
        return failures

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until this user may try again from this address (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((username.lower(), address), now)
            if len(failures) < self.max_failures:
                return 0.0
            return max(0.0, self.window_seconds - (now - failures[0]))

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > _MAX_TRACKED:  # forget stale entries under a flood
                for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]
            self._recent((username.lower(), address), now).append(now)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), address), None)
