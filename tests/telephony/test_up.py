"""`centralino up` as a user runs it: Ctrl-C stops every process it started, at once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from telephony.testing.ports import free_port, rtp_base
from telephony.testing.workers import wait_until


def _descendants(root: int) -> set[int]:
    """Every live process below ``root`` (read from /proc, whatever session it moved to)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _config(tmp_path: Path) -> tuple[Path, int]:
    """A config for `up` on free ports; also the console's port."""
    config, console_port = tmp_path / "centralino.toml", free_port(socket.SOCK_STREAM)
    config.write_text(
        f'var_dir = "{tmp_path / "var"}"\n'
        f"sip_port = {free_port()}\n"
        f"edge_switch_port = {free_port()}\n"
        f"worker_sip_base_port = {free_port()}\n"
        f"worker_rtp_base_port = {rtp_base(400)}\n"
        f"worker_api_base_port = {free_port(socket.SOCK_STREAM)}\n"
        f"console_port = {console_port}\n"
        f"speech_port = {free_port(socket.SOCK_STREAM)}\n"
        "workers = 2\n"
    )
    return config, console_port


@contextlib.contextmanager
def running_up(config: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`centralino up` until it says it runs; then Ctrl-C, and every child must be gone."""
    launcher = subprocess.Popen(
        [sys.executable, "-m", "telephony.cli", "up", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert launcher.stdout is not None
    lines: list[str] = []
    try:
        for line in launcher.stdout:
            lines.append(line)
            if "Centralino is running." in line:
                break
        assert any("Centralino is running." in line for line in lines), "".join(lines)
        yield launcher, lines
        children = _descendants(launcher.pid)
        # What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
        os.killpg(launcher.pid, signal.SIGINT)
        rest, _ = launcher.communicate(timeout=40)
        lines.append(rest)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    output = "".join(lines)
    assert launcher.returncode == 0, output
    assert "did not stop in time" not in output, output
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)], output


def _running(root: int, command: str) -> list[int]:
    """Live processes below *root* started as ``python -m telephony.cli <command>``."""
    found = []
    for pid in _descendants(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"telephony.cli" in argv and command.encode() in argv and _alive(pid):
            found.append(pid)
    return found


def test_ctrl_c_while_workers_start_stops_every_process_without_killing(tmp_path: Path):
    config, _console = _config(tmp_path)
    with running_up(config) as (launcher, _lines):
        children = _descendants(launcher.pid)
        assert len(children) >= 4, children  # two workers, Kamailio, speech, console


def test_a_killed_console_and_speech_service_are_started_again_and_workers_stay(
    tmp_path: Path,
) -> None:
    config, console_port = _config(tmp_path)
    with running_up(config) as (launcher, _lines):
        console, speech = _running(launcher.pid, "console"), _running(launcher.pid, "speech")
        assert len(console) == 1 and len(speech) == 1
        rest = _descendants(launcher.pid) - set(console) - set(speech)  # workers (forked), edge
        assert len(rest) >= 3, rest
        for pid in console + speech:
            os.kill(pid, signal.SIGKILL)
        new_console = wait_until(
            lambda: [p for p in _running(launcher.pid, "console") if p not in console], 20,
            "a new console")
        wait_until(lambda: [p for p in _running(launcher.pid, "speech") if p not in speech], 20,
                   "a new speech service")

        def signs_in() -> bool:
            try:
                answer = requests.get(f"http://127.0.0.1:{console_port}/login", timeout=2)
            except requests.ConnectionError:
                return False
            return answer.status_code == 200

        wait_until(signs_in, 30, "the new console serves its sign-in page", 0.2)
        assert len(new_console) == 1
        assert rest <= _descendants(launcher.pid)  # the workers and the edge were not touched
        assert all(_alive(pid) for pid in rest)
