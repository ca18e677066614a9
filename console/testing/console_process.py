"""A real console process (`centralino console`, waitress) on a given database, and raw-socket
browser streams with real session cookies: for tests and the stream bench."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

CENTRALINO = Path(sys.executable).parent / "centralino"
COOKIE = "centralino_session"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class ConsoleProcess:
    """`centralino console --config FILE` on a free port; *console* are ``[extra.console]``."""

    workdir: Path
    database_url: str
    console: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ConsoleProcess:
        """Start it (again: on the same port, as a restarted console is found by the pages)."""
        self.port = self.port or free_tcp_port()
        settings = {
            "var_dir": str(self.workdir),
            "database_url": self.database_url,
            "console_address": "127.0.0.1",
            "console_port": self.port,
            "secret_key": "console-process-test-secret",
        }
        extra = {"worker_feed": False, **self.console}
        lines = [f"{key} = {_toml(value)}" for key, value in settings.items()]
        lines.append("[extra.console]")
        for key, value in extra.items():
            shown = (
                "[" + ", ".join(_toml(v) for v in value) + "]"
                if isinstance(value, list)
                else _toml(value)
            )
            lines.append(f"{key} = {shown}")
        config = self.workdir / "console.toml"
        config.write_text("\n".join(lines) + "\n")
        log = (self.workdir / "console.log").open("ab")
        self.process = subprocess.Popen(
            [str(CENTRALINO), "console", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the console exited: {self.log()}")
            try:
                if self.get("/health", timeout=1.0)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the console did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        return (self.workdir / "console.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """``kill -9``: no shutdown, every open stream cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def get(
        self, path: str, cookie: str | None = None, timeout: float = 10.0
    ) -> tuple[int, dict[str, str], str]:
        """One request on its own connection: status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            connection.close()

    def sign_in(self, username: str, password: str) -> str:
        """Sign in through the form; returns the session cookie's value."""
        status, cookie = self.try_sign_in(username, password)
        assert status == 302 and cookie is not None, status
        return cookie

    def try_sign_in(self, username: str, password: str) -> tuple[int, str | None]:
        """Post the sign-in form as a browser does: the status, and the new session cookie."""
        status, headers, body = self.get("/login")
        assert status == 200, status
        cookie = _cookie(headers)
        token = re.search(r'name="csrf_token" value="([^"]+)"', body)
        assert token is not None
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            form = urlencode(
                {"username": username, "password": password, "csrf_token": token.group(1)}
            )
            connection.request(
                "POST",
                "/login",
                body=form,
                headers={
                    "Cookie": f"{COOKIE}={cookie}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            response = connection.getresponse()
            response.read()
            answered = dict(response.getheaders())
            return response.status, _cookie(answered) if response.status == 302 else None
        finally:
            connection.close()


def _cookie(headers: dict[str, str]) -> str:
    match = re.search(rf"{COOKIE}=([^;]+)", headers.get("Set-Cookie", ""))
    assert match is not None, headers
    return match.group(1)


class RawStream:
    """An open ``GET /agent/events`` on its own socket, as a browser's EventSource holds it."""

    def __init__(self, port: int, cookie: str, path: str = "/agent/events") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Cookie: {COOKIE}={cookie}\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.received = b""

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        """Read until *marker* arrived (or the server closed); returns everything so far."""
        deadline = time.monotonic() + timeout
        while marker not in self.received:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {marker!r} within {timeout} s: {self.received[-200:]!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.received += chunk
        return self.received

    @property
    def status(self) -> int:
        head = self.received.split(b"\r\n", 1)[0].split()
        return int(head[1]) if len(head) > 1 else 0

    def close(self) -> None:
        self.sock.close()
