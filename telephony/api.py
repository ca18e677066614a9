"""The worker's control API: JSON over HTTP on loopback plus a server-sent-events stream.

Handlers run on the HTTP server's threads; anything touching pjsua2 is run on the worker's
loop with `ControlledSwitch.call_on_loop`. Paths and event shapes are the table in
docs/architecture.md; every request first passes the `ControlGuard` (Host name, deployment
token, JSON bodies). The API knows the worker only as the two small protocols below.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from telephony.api_guard import ControlGuard
from telephony.events import EventBus

KEEPALIVE_SECONDS = 10.0
T = TypeVar("T")


class CallTransfers(Protocol):
    """Hold and transfers of one call (a `telephony.transfer.Transfers`)."""

    def hold(self) -> None: ...

    def unhold(self) -> None: ...

    def transfer(self, to: str, mode: str) -> None: ...

    def complete_transfer(self) -> None: ...

    def cancel_transfer(self) -> None: ...


class ControlledCall(Protocol):
    """What the API does to one live call (a `telephony.conversation.Conversation`)."""

    @property
    def ended(self) -> bool: ...

    @property
    def transfers(self) -> CallTransfers: ...

    def snapshot(self) -> dict[str, Any]: ...

    def answer(self) -> None: ...

    def send_dtmf(self, digits: str, method: str, role: str = ...) -> None: ...

    def end(self, reason: str) -> None: ...

    def monitor_request(self, data: Mapping[str, Any]) -> dict[str, Any]: ...


class ControlledSwitch(Protocol):
    """What the API needs from a switch worker: its calls, originate, the loop, figures, events."""

    @property
    def conversations(self) -> Mapping[str, ControlledCall]: ...

    @property
    def events(self) -> EventBus: ...

    def call_on_loop(self, action: Callable[[], T], timeout: float = ...) -> T: ...

    def originate(self, to: str, agent_first: str | None, intercom: bool = False) -> str: ...

    def health(self) -> dict[str, Any]: ...


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_app(worker: ControlledSwitch, guard: ControlGuard) -> Flask:
    app = Flask("centralino.switch")
    app.before_request(lambda: guard.refusal(request))

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify({"error": str(error)}), error.status

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if data is None:
            if request.get_data(cache=True):
                raise ApiError(400, "the body is not valid JSON")
            return {}
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        return data

    def on_call(call_id: str, action: Callable[[ControlledCall], Any]) -> Response:
        def run() -> Any:
            conversation = worker.conversations.get(call_id)
            if conversation is None or conversation.ended:
                raise ApiError(404, f"no live call {call_id}")
            return action(conversation)

        try:
            result = worker.call_on_loop(run)
        except ValueError as error:
            raise ApiError(409, str(error)) from error
        return jsonify(result if result is not None else {"ok": True})

    @app.get("/health")
    def health() -> Response:
        return jsonify(worker.health())

    @app.get("/calls")
    def calls() -> Response:
        return jsonify(
            worker.call_on_loop(lambda: [c.snapshot() for c in worker.conversations.values()])
        )

    @app.post("/calls")
    def originate() -> tuple[Response, int]:
        data = body()
        to = data.get("to")
        if not isinstance(to, str) or not to:
            raise ApiError(400, '"to" (extension or SIP URI) is required')
        try:
            intercom = data.get("intercom") is True  # the device answers at once
            call_id = worker.call_on_loop(lambda: worker.originate(to, data.get("from"), intercom))
        except RuntimeError as error:
            raise ApiError(503, str(error)) from error
        return jsonify({"id": call_id}), 201

    @app.post("/calls/<call_id>/answer")
    def answer(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.answer())

    @app.post("/calls/<call_id>/hold")
    def hold(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.transfers.hold())

    @app.post("/calls/<call_id>/unhold")
    def unhold(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.transfers.unhold())

    @app.post("/calls/<call_id>/transfer")
    def transfer(call_id: str) -> Response:
        data = body()
        mode = data.get("mode", "blind")
        to = data.get("to")
        if not isinstance(to, str) or not to:
            raise ApiError(400, '"to" (extension or SIP URI) is required')
        return on_call(call_id, lambda c: c.transfers.transfer(to, mode))

    @app.post("/calls/<call_id>/transfer/complete")
    def complete(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.transfers.complete_transfer())

    @app.post("/calls/<call_id>/transfer/cancel")
    def cancel(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.transfers.cancel_transfer())

    @app.post("/calls/<call_id>/dtmf")
    def dtmf(call_id: str) -> Response:
        data = body()
        digits, method = data.get("digits", ""), data.get("method", "rfc4733")
        if not isinstance(digits, str) or not digits or set(digits) - set("0123456789*#ABCD"):
            raise ApiError(400, '"digits" must be DTMF characters 0-9 * # A-D')
        if method not in ("rfc4733", "info"):
            raise ApiError(400, '"method" must be "rfc4733" or "info"')
        return on_call(call_id, lambda c: c.send_dtmf(digits, method, data.get("leg", "customer")))

    @app.post("/calls/<call_id>/monitor")
    def monitor(call_id: str) -> Response:
        data = body()
        try:
            return on_call(call_id, lambda c: c.monitor_request(data))
        except RuntimeError as error:  # no room for the supervisor's leg
            raise ApiError(503, str(error)) from error

    @app.post("/calls/<call_id>/hangup")
    def hangup(call_id: str) -> Response:
        return on_call(call_id, lambda c: c.end("hung up by API"))

    @app.get("/events")
    def events() -> Response:
        subscription = worker.events.subscribe()

        def stream() -> Iterator[str]:
            try:
                yield ": connected\n\n"
                while True:
                    event = subscription.get(KEEPALIVE_SECONDS)
                    if event is None:
                        yield ": keepalive\n\n"
                    else:
                        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            finally:
                subscription.close()

        return Response(
            stream(),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


class ApiServer:
    """The control API served by werkzeug (threaded, so open SSE streams block nothing)."""

    def __init__(
        self, worker: ControlledSwitch, address: str, port: int, guard: ControlGuard
    ) -> None:
        app = create_app(worker, guard)
        self.server: BaseWSGIServer = make_server(address, port, app, threaded=True)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
