"""Server-sent event responses that relay one hub topic to one browser, within limits.

Every open stream holds a server thread, so streams are bounded: at most
``SSE_STREAMS_PER_SESSION`` per signed-in session (a newer one tells the oldest it is
``superseded`` and closes it), at most ``SSE_MAX_STREAMS`` in the process (beyond: 503 with
Retry-After), and each ends after ``SSE_MAX_SECONDS`` (the browser reconnects after the
``retry`` hint, and the reconnection is checked like any request). At every keepalive the
session is checked against the database, so a stream of a session signed out in another
console process, or past its lifetime, ends within ``SSE_KEEPALIVE_SECONDS``.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, jsonify, session

from console.auth.sessions import SessionCheck, still_valid
from console.extensions import database, hub

_CLOSE = object()  # put in an inbox to end its stream
Inbox = queue.Queue[tuple[Any, Any]]


def _frame(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@dataclass(eq=False)
class OpenStream:
    session_id: str
    agent_id: int
    inbox: Inbox
    opened_at: float = field(default_factory=time.monotonic)
    closed_because: str | None = None

    def close(self, reason: str) -> None:
        self.closed_because = reason
        with contextlib.suppress(queue.Full):  # then it sees closed_because after its next event
            self.inbox.put_nowait((_CLOSE, reason))


class StreamGate:
    """Counts the open streams of this process per session, and closes or refuses beyond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: list[OpenStream] = []  # oldest first

    def admit(
        self,
        session_id: str,
        agent_id: int,
        inbox: Inbox,
        per_session: int,
        max_streams: int,
    ) -> OpenStream | None:
        """A slot for a new stream, closing this session's oldest beyond *per_session*; None
        when the process already has *max_streams*."""
        with self._lock:
            mine = [stream for stream in self._open if stream.session_id == session_id]
            while mine and len(mine) >= max(1, per_session):
                oldest = mine.pop(0)
                self._open.remove(oldest)
                oldest.close("superseded")
            if len(self._open) >= max_streams:
                return None
            stream = OpenStream(session_id, agent_id, inbox)
            self._open.append(stream)
            return stream

    def release(self, stream: OpenStream) -> None:
        with self._lock:
            if stream in self._open:
                self._open.remove(stream)

    def close_person(self, agent_id: int, reason: str) -> int:
        """End every stream of one person (signed out); returns how many."""
        with self._lock:
            theirs = [stream for stream in self._open if stream.agent_id == agent_id]
            for stream in theirs:
                self._open.remove(stream)
        for stream in theirs:
            stream.close(reason)
        return len(theirs)

    def count(self) -> int:
        with self._lock:
            return len(self._open)


def gate() -> StreamGate:
    slots: StreamGate = current_app.extensions["centralino.streams"]
    return slots


def event_stream(topic: str) -> Response:
    """Stream *topic* to the signed-in browser until it leaves or a limit ends the stream."""
    config = current_app.config
    keepalive = float(config["SSE_KEEPALIVE_SECONDS"])
    max_seconds = float(config["SSE_MAX_SECONDS"]) * random.uniform(0.9, 1.0)
    retry_ms = int(config["SSE_RETRY_MS"] * random.uniform(1.0, 1.5))
    live = hub()
    inbox = live.subscribe(topic)
    stream = gate().admit(
        str(session.get("sid")),
        g.agent.id,
        inbox,
        per_session=int(config["SSE_STREAMS_PER_SESSION"]),
        max_streams=int(config["SSE_MAX_STREAMS"]),
    )
    if stream is None:
        live.unsubscribe(topic, inbox)
        response = jsonify(error="this console has as many live streams as it serves; retry")
        response.status_code = 503
        response.headers["Retry-After"] = str(int(config["SSE_FULL_RETRY_SECONDS"]))
        return response
    check = SessionCheck.of_current(config)
    db = database()
    slots = gate()

    def frames() -> Iterator[str]:
        started = time.monotonic()
        try:
            yield f"retry: {retry_ms}\n\n"
            while (left := max_seconds - (time.monotonic() - started)) > 0:
                if stream.closed_because is not None:
                    yield _frame("closed", {"reason": stream.closed_because})
                    return
                try:
                    name, data = inbox.get(timeout=min(keepalive, left))
                except queue.Empty:
                    if not live.is_subscribed(topic, inbox):
                        return  # fell too far behind: reconnect and read the current pop
                    if not still_valid(db, check):
                        yield _frame("closed", {"reason": "signed_out"})
                        return
                    yield ": keepalive\n\n"
                    continue
                if name is _CLOSE:
                    yield _frame("closed", {"reason": data})
                    return
                yield _frame(name, data)
        finally:
            live.unsubscribe(topic, inbox)
            slots.release(stream)

    response = Response(
        frames(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    def closed() -> None:  # also when the server never started iterating
        live.unsubscribe(topic, inbox)
        slots.release(stream)

    response.call_on_close(closed)
    return response


def polled_stream(name: str, build: Callable[[], Any], interval: float) -> Response:
    """Stream *build()* as event *name* whenever it changes (checked every *interval* s),
    within the same limits as `event_stream`: for views built from the database, which every
    console process sees alike. *build* runs outside the request: give it what it reads."""
    config = current_app.config
    keepalive = float(config["SSE_KEEPALIVE_SECONDS"])
    max_seconds = float(config["SSE_MAX_SECONDS"]) * random.uniform(0.9, 1.0)
    retry_ms = int(config["SSE_RETRY_MS"] * random.uniform(1.0, 1.5))
    inbox: Inbox = queue.Queue(4)
    stream = gate().admit(
        str(session.get("sid")),
        g.agent.id,
        inbox,
        per_session=int(config["SSE_STREAMS_PER_SESSION"]),
        max_streams=int(config["SSE_MAX_STREAMS"]),
    )
    if stream is None:
        response = jsonify(error="this console has as many live streams as it serves; retry")
        response.status_code = 503
        response.headers["Retry-After"] = str(int(config["SSE_FULL_RETRY_SECONDS"]))
        return response
    check = SessionCheck.of_current(config)
    db = database()
    slots = gate()

    def frames() -> Iterator[str]:
        started = last_check = time.monotonic()
        sent: str | None = None
        try:
            yield f"retry: {retry_ms}\n\n"
            while time.monotonic() - started < max_seconds:
                if stream.closed_because is not None:
                    yield _frame("closed", {"reason": stream.closed_because})
                    return
                if time.monotonic() - last_check >= keepalive:
                    last_check = time.monotonic()
                    if not still_valid(db, check):
                        yield _frame("closed", {"reason": "signed_out"})
                        return
                    yield ": keepalive\n\n"
                data = json.dumps(build(), separators=(",", ":"), sort_keys=True)
                if data != sent:
                    sent = data
                    yield f"event: {name}\ndata: {data}\n\n"
                try:
                    closing, reason = inbox.get(timeout=interval)
                except queue.Empty:
                    continue
                if closing is _CLOSE:
                    yield _frame("closed", {"reason": reason})
                    return
        finally:
            slots.release(stream)

    response = Response(
        frames(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(lambda: slots.release(stream))
    return response
