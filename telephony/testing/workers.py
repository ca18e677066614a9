"""Start switch worker processes on free ports against a test database, and read their events."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from store.settings import load_settings
from store.tokens import bearer_header, deployment_token
from telephony.testing.phones import ROOT
from telephony.testing.ports import free_port, rtp_base


class WorkerError(AssertionError):
    """A worker did not start, or an awaited event or condition did not come in time."""


def write_config(
    path: Path,
    var_dir: Path,
    database_url: str,
    edge: tuple[str, int] | None = None,
    switch: tuple[str, int] | None = None,
    agent_uris: dict[str, str] | None = None,
    heartbeat_seconds: float = 0.5,
    stale_after_seconds: float = 2.0,
    sip_domain: str | None = None,
    flow: str = "telephony.callflow.greeting:greeting_then_agent",
    speech: tuple[str, int] | None = None,
    extra: dict[str, Any] | None = None,
    host: str | None = None,
) -> Path:
    """A TOML configuration for test workers (*switch* = the edge's switch socket, where agents
    are dialled); they run the placeholder flow unless *flow* names another (the IVR:
    `telephony.callflow.ivr:IvrFlows`). *host*: a switch host's own address, where its workers
    bind SIP, RTP and their control API (``switch_address``, ``control_address``)."""
    edge_host, edge_port = edge or ("127.0.0.1", free_port())
    lines = [
        f'var_dir = "{var_dir}"',
        f'database_url = "{database_url}"',
        f'sip_address = "{edge_host}"',
        f"sip_port = {edge_port}",
        f"heartbeat_seconds = {heartbeat_seconds}",
        f"stale_after_seconds = {stale_after_seconds}",
    ]
    if switch:
        lines += [f'edge_switch_address = "{switch[0]}"', f"edge_switch_port = {switch[1]}"]
    if sip_domain:
        lines.append(f'sip_domain = "{sip_domain}"')
    if host:
        lines += [f'switch_address = "{host}"', f'control_address = "{host}"']
    if speech:
        lines += [f'speech_address = "{speech[0]}"', f"speech_port = {speech[1]}"]
    lines.append("[extra]")
    lines.append("auto_answer = true")
    lines.append(f'flow = "{flow}"')
    lines += [f"{key} = {json.dumps(value)}" for key, value in (extra or {}).items()]
    if agent_uris:
        lines.append("[extra.agent_uris]")
        lines += [f'"{ext}" = "{uri}"' for ext, uri in agent_uris.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class EventStream:
    """A background reader of a worker's ``/events`` SSE stream with awaitable events."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._changed = threading.Condition()
        self._response = requests.get(
            f"{url}/events", headers=bearer_header(token), stream=True, timeout=(5, None)
        )
        self._response.raise_for_status()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    event = json.loads(line[6:])
                    with self._changed:
                        self.events.append(event)
                        self._changed.notify_all()
        except (requests.RequestException, AttributeError, ValueError):
            pass

    def wait_for(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, event in enumerate(self.events):
                    if index in self._consumed or event.get("type") != kind:
                        continue
                    if all(event.get(k) == v for k, v in fields.items()):
                        self._consumed.add(index)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerError(
                        f"no {kind} event {fields or ''} within {timeout} s; "
                        f"saw {[e['type'] for e in self.events]}"
                    )
                self._changed.wait(left)

    def close(self) -> None:
        self._response.close()


@dataclass
class WorkerProcess:
    name: str
    sip_port: int
    api_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str  # the deployment token its control API wants (var/deployment-token)
    streams: list[EventStream] = field(default_factory=list)
    host: str = "127.0.0.1"  # its SIP and control address (a switch host's, in a namespace)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def sip_uri_host(self) -> str:
        return f"{self.host}:{self.sip_port}"

    def get(self, path: str) -> Any:
        response = requests.get(self.url + path, headers=bearer_header(self.token), timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        headers = bearer_header(self.token)
        return requests.post(self.url + path, json=body or {}, headers=headers, timeout=10)

    def events(self) -> EventStream:
        stream = EventStream(self.url, self.token)
        self.streams.append(stream)
        return stream

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def request_stop(self) -> None:
        self.kill(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for stream in self.streams:
            stream.close()
        return self.process.returncode


def launch_worker(
    config: Path,
    index: int,
    log_dir: Path,
    name: str | None = None,
    netns: str | None = None,
    host: str = "127.0.0.1",
) -> WorkerProcess:
    """Start ``telephony.worker`` as a process on free ports (not yet awaited); the deployment
    token is made here first, in the configuration's var directory, as `centralino init` does.
    With *netns*, it runs in that network namespace (``ip netns exec``: a switch host of its
    own), where *host* is its address (the configuration's ``switch_address``)."""
    name = name or f"test-switch-{index}"
    token = deployment_token(load_settings(config))
    sip_port, api_port = free_port(), free_port(socket.SOCK_STREAM)
    log_path = log_dir / f"{name}.log"
    argv = [
        *(["ip", "netns", "exec", netns] if netns else []),
        sys.executable,
        "-m",
        "telephony.worker",
        "--config",
        str(config),
        "--index",
        str(index),
        "--name",
        name,
        "--sip-port",
        str(sip_port),
        "--api-port",
        str(api_port),
        "--rtp-port",
        str(rtp_base(100)),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return WorkerProcess(name, sip_port, api_port, process, log_path, token, host=host)


def await_ready(worker: WorkerProcess, timeout: float = 30.0) -> WorkerProcess:
    """Return once the worker's /health answers (it registers itself before serving)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise WorkerError(
                f"{worker.name} exited with {worker.process.returncode}:\n{worker.log()[-3000:]}"
            )
        try:
            worker.get("/health")
            return worker
        except requests.RequestException:
            time.sleep(0.05)  # polling the port until it listens: the process gives no other sign
    worker.kill()
    raise WorkerError(f"{worker.name} no /health within {timeout} s:\n{worker.log()[-3000:]}")


def start_worker(config: Path, index: int, log_dir: Path, name: str | None = None) -> WorkerProcess:
    """Run one worker and wait until it serves."""
    return await_ready(launch_worker(config, index, log_dir, name))


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll *condition* (e.g. a database query) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WorkerError(f"{what}: not within {timeout} s (last {value!r})")
        time.sleep(interval)


def request_a_callback(
    customer: Any, call: int, events: EventStream, number: str, queued_within: float = 20.0
) -> dict[str, Any]:
    """The customer's call (a `telephony.testing.phones.Phone`'s) reaches the queue, hears its
    position, presses 1 for a callback to *number* and is let go; returns the ``queued`` event."""
    customer.wait_for("state", call=call, state="confirmed")
    queued = events.wait_for("queued", timeout=queued_within)
    events.wait_for("queue.position", timeout=30)
    customer.dtmf(call, "1")
    assert events.wait_for("queue.callback", timeout=10)["number"] == number
    customer.wait_for("state", call=call, state="disconnected", timeout=20)
    return queued
