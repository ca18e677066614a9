"""SIPVicious (PyPI ``sipvicious``: svwar finds extensions, svcrack guesses passwords) run
against our own edge, with the tool's own User-Agent or one a desk phone sends.

The User-Agent is the default of the ``useragent`` argument of the request builder in
``sipvicious/libs/svhelper.py``; ``python -m tests.harness.scanner UA TOOL ARGS...`` changes
that default in a fresh process and runs the tool, as an attacker's edited copy would. The
tools wait up to 10 s on their socket when nothing answers (not an option): that wait is cut to
``SOCKET_WAIT_S`` so a scan against an edge that stopped answering ends in seconds.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
from dataclasses import dataclass

TOOL_USER_AGENT = "friendly-scanner"
PHONE_USER_AGENT = "Yealink SIP-T46S 66.86.0.15"
SOCKET_WAIT_S = 1.5


@dataclass(frozen=True)
class ScanResult:
    returncode: int
    output: str


def run_scanner(tool: str, user_agent: str, *args: str, timeout: float = 120) -> ScanResult:
    """Run ``sipvicious.<tool>`` (``svwar`` or ``svcrack``) with *args*; its whole output."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.scanner", user_agent, tool, *args],
        capture_output=True, text=True, timeout=timeout,
    )
    return ScanResult(result.returncode, result.stdout + result.stderr)


def _with_user_agent(user_agent: str) -> None:
    from sipvicious.libs import svhelper

    build = svhelper.makeRequest
    code = build.__code__
    names = code.co_varnames[: code.co_argcount]
    defaults = list(build.__defaults__ or ())
    defaults[names.index("useragent") - (len(names) - len(defaults))] = user_agent
    build.__defaults__ = tuple(defaults)


def _with_short_socket_waits() -> None:
    set_timeout = socket.socket.settimeout

    def capped(self: socket.socket, value: float | None) -> None:
        set_timeout(self, value if value is None else min(value, SOCKET_WAIT_S))

    socket.socket.settimeout = capped  # type: ignore[method-assign]


def main() -> None:
    user_agent, tool, *args = sys.argv[1:]
    _with_user_agent(user_agent)
    _with_short_socket_waits()
    module = importlib.import_module(f"sipvicious.{tool}")
    sys.argv = [tool, *args]
    module.main()


if __name__ == "__main__":
    main()
