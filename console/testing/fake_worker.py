"""A stand-in for a switch worker's HTTP side only: ``/events`` (SSE), ``/calls`` and call actions.

It is the seam between console and worker: tests and the screen-pop benchmark emit the events
a real worker would, and read back the control requests the console sent. Like a real worker
it answers 401 to any request without the deployment token (`TOKEN` unless told another).
"""

from __future__ import annotations

import json
import queue
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from store.db import Database
from store.models import Worker

_ACTION = re.compile(r"^/calls/([^/]+)/([a-z]+(?:/[a-z]+)?)$")
#: The deployment token the console's tests configure (``WORKER_TOKEN``) and fake workers want.
TOKEN = "test-deployment-token-0123456789abcdef"


class FakeWorker:
    def __init__(self, name: str = "fake-1", token: str = TOKEN) -> None:
        self.name = name
        self.token = token
        self.refused: list[str] = []  # paths asked without the right token
        self.actions: list[tuple[str, str, dict[str, Any]]] = []
        self.calls: list[dict[str, Any]] = []
        #: Action name -> (status, body) the worker answers instead of 200 (e.g. a full worker).
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._streams: list[queue.Queue[bytes | None]] = []
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.put(None)
        self.server.shutdown()
        self.server.server_close()

    def drop_streams(self) -> None:
        """End every open ``/events`` stream, as a restarting worker would."""
        self.connected.clear()
        with self._lock:
            for stream in self._streams:
                stream.put(None)

    def register(self, db: Database) -> None:
        with db.session() as session:
            session.add(
                Worker(
                    name=self.name,
                    host="127.0.0.1",
                    pid=0,
                    sip_port=0,
                    api_url=self.url,
                    capacity=4,
                    alive=True,
                )
            )

    def emit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Send one event to every open ``/events`` stream; fills ``worker`` and ``at``."""
        full = {"worker": self.name, "at": datetime.now(UTC).isoformat(), **event}
        frame = f"data: {json.dumps(full)}\n\n".encode()
        with self._lock:
            for stream in self._streams:
                stream.put(frame)
        return full

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        worker = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {worker.token}":
                    return True
                worker.refused.append(self.path)
                self._json(401, {"error": "no or wrong deployment token"})
                return False

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path == "/events":
                    self._events()
                elif self.path == "/calls":
                    self._json(200, worker.calls)
                elif self.path == "/health":
                    self._json(200, {"worker": worker.name, "capacity": 4, "load": 0, "calls": 0})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self._authorized():
                    return
                match = _ACTION.match(self.path)
                body = json.loads(raw or b"{}")
                if match is None:
                    self._json(404, {"error": "not found"})
                    return
                worker.actions.append((match.group(1), match.group(2), body))
                self._json(*worker.answers.get(match.group(2), (200, {"ok": True})))

            def _events(self) -> None:
                stream: queue.Queue[bytes | None] = queue.Queue()
                with worker._lock:
                    worker._streams.append(stream)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b": hello\n\n")
                self.wfile.flush()
                worker.connected.set()
                try:
                    while (frame := stream.get()) is not None:
                        self.wfile.write(frame)
                        self.wfile.flush()
                except OSError:
                    pass
                finally:
                    with worker._lock:
                        worker._streams.remove(stream)
                    self.close_connection = True

        return Handler
