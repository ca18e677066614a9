"""The worker's loop: closures posted from any thread, timers, and the one store thread.

pjsua2 belongs to one thread, the loop thread. Other threads (leg callbacks, the control API,
the store thread, the tap thread) never touch it: they `post` a closure, which the loop runs
between two pumps of the SIP stack (`run_jobs`), or ask for one `later` (`run_timers`).
Database work goes to `store`, one thread in order (so CDR rows follow the call), whose
result comes back to the loop. A store job that another writer held out (SQLite locked past
its busy timeout, a PostgreSQL deadlock victim) is run again after a pause, in its place, so
that a long writer delays the call's records instead of losing them. A job refused for want of
disk space (SQLite's "database or disk is full") is run again the same way, for longer, so that
the records wait in memory, in order, until an operator frees space: one error says so when it
starts, one line when space is back. `call_on_loop` runs a closure there and waits for its result.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from store.db import DISK_FULL_ADVICE, disk_full_error, transient_write_error

log = logging.getLogger("centralino.switch")
T = TypeVar("T")

#: How long a store job is retried while another writer holds the database, and the pauses.
STORE_RETRY_SECONDS = 120.0
STORE_RETRY_PAUSES = (0.05, 2.0)
#: How long a store job is retried while the database's disk is full (time to free space).
STORE_FULL_RETRY_SECONDS = 600.0


class Loop:
    """The job and timer queues of the loop thread, and the store thread beside it."""

    def __init__(self, store_thread_setup: Callable[[], None] | None = None) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_ids = itertools.count()
        self._timer_lock = threading.Lock()
        self._store = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="store", initializer=store_thread_setup
        )
        self._disk_full_since: float | None = None  # the store thread's alone

    # -- any thread -------------------------------------------------------------------------
    def post(self, action: Callable[[], None]) -> None:
        """Run *action* on the loop thread, soon."""
        self._jobs.put(action)

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run *action* on the loop thread after *delay* seconds."""
        with self._timer_lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_ids), action))

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        """Run *job* on the store thread, in order; *then* gets its result on the loop."""

        def run() -> None:
            began, pause = time.monotonic(), STORE_RETRY_PAUSES[0]
            while True:
                try:
                    result = job()
                    break
                except Exception as error:
                    waited = time.monotonic() - began
                    if disk_full_error(error):
                        if self._held_for_space(waited):
                            time.sleep(pause)  # the disk is full: wait for space, in order
                            pause = min(pause * 2, STORE_RETRY_PAUSES[1])
                            continue
                        return
                    if not transient_write_error(error) or waited > STORE_RETRY_SECONDS:
                        log.exception("store job failed")
                        return
                    log.warning("event=store.retry waited_s=%.1f error=%r", waited,
                                str(error).splitlines()[0][:120])
                    time.sleep(pause)  # a retry's back-off on the store thread, in order
                    pause = min(pause * 2, STORE_RETRY_PAUSES[1])
            if self._disk_full_since is not None:
                log.warning("event=store.disk_space_back held_s=%.1f: the held records are "
                            "being written", time.monotonic() - self._disk_full_since)
                self._disk_full_since = None
            if then is not None:
                self.post(lambda: then(result))

        self._store.submit(run)

    def _held_for_space(self, waited: float) -> bool:
        """On the store thread, a job refused for want of space: whether to try it again (one
        error when the disk fills, one when a job is given up after the bound)."""
        if self._disk_full_since is None:
            self._disk_full_since = time.monotonic()
            log.error("event=store.disk_full: %s; the call records wait in memory, in order, "
                      "and are written once there is space (for up to %.0f s)",
                      DISK_FULL_ADVICE, STORE_FULL_RETRY_SECONDS)
        if waited <= STORE_FULL_RETRY_SECONDS:
            return True
        log.error("event=store.write_lost held_s=%.0f: a store job given up, the disk is "
                  "still full", waited)
        return False

    def call_on_loop(self, action: Callable[[], T], timeout: float = 5.0) -> T:
        """Run *action* on the loop thread and return its result (for the control API)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(action())
            except Exception as error:
                future.set_exception(error)

        self.post(run)
        return future.result(timeout)

    # -- the loop thread --------------------------------------------------------------------
    def run_jobs(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                job()
            except Exception:
                log.exception("loop job failed")

    def run_timers(self) -> None:
        now = time.monotonic()
        while True:
            with self._timer_lock:
                if not self._timers or self._timers[0][0] > now:
                    return
                _, _, action = heapq.heappop(self._timers)
            try:
                action()
            except Exception:
                log.exception("timer failed")

    def clear_timers(self) -> None:
        with self._timer_lock:
            self._timers.clear()

    def finish_store(self) -> None:
        """Wait for every store job queued so far (at shutdown)."""
        self._store.shutdown(wait=True)
