"""Server-sent event responses that relay one hub topic to one browser."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator

from flask import Response, current_app

from console.extensions import hub


def _frame(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def event_stream(topic: str) -> Response:
    """Stream *topic* until the browser leaves (or ``SSE_MAX_SECONDS``, when set, runs out)."""
    live = hub()
    keepalive = float(current_app.config["SSE_KEEPALIVE_SECONDS"])
    max_seconds = float(current_app.config["SSE_MAX_SECONDS"])
    inbox = live.subscribe(topic)

    def stream() -> Iterator[str]:
        started = time.monotonic()
        try:
            yield "retry: 1000\n\n"
            while max_seconds <= 0 or (left := max_seconds - (time.monotonic() - started)) > 0:
                try:
                    name, data = inbox.get(
                        timeout=keepalive if max_seconds <= 0 else min(keepalive, left)
                    )
                except queue.Empty:
                    yield ": keepalive\n\n"
                    continue
                yield _frame(name, data)
        finally:
            live.unsubscribe(topic, inbox)

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
