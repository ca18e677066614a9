"""`centralino up` as a user runs it: Ctrl-C stops every process it started, at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from telephony.testing.ports import free_port, rtp_base


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


def test_ctrl_c_while_workers_start_stops_every_process_without_killing(tmp_path: Path):
    config = tmp_path / "centralino.toml"
    config.write_text(
        f'var_dir = "{tmp_path / "var"}"\n'
        f"sip_port = {free_port()}\n"
        f"edge_switch_port = {free_port()}\n"
        f"worker_sip_base_port = {free_port()}\n"
        f"worker_rtp_base_port = {rtp_base(400)}\n"
        f"worker_api_base_port = {free_port(socket.SOCK_STREAM)}\n"
        f"console_port = {free_port(socket.SOCK_STREAM)}\n"
        f"speech_port = {free_port(socket.SOCK_STREAM)}\n"
        "workers = 2\n"
    )
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
        children = _descendants(launcher.pid)
        assert len(children) >= 4, children  # two workers, Kamailio, speech, console
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
