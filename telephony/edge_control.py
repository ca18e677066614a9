"""Talking to a running Kamailio and keeping its files: RPC over the control socket, and the
private runtime directory ``var/edge`` (0700, every file in it 0600)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from store.settings import Settings


class EdgeError(RuntimeError):
    """Kamailio could not be configured, started or reached."""


def run_dir(settings: Settings) -> Path:
    return Path(settings.var_dir) / "edge"


def ctl_socket(directory: Path) -> str:
    return f"unix:{directory}/kamailio_ctl"


def private_dir(directory: Path) -> Path:
    """*directory*, created if needed, readable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def write_private(path: Path, text: str) -> None:
    """Replace *path* with *text* at once (readers never see half a file), mode 0600."""
    private_dir(path.parent)
    staged = path.with_name(path.name + ".tmp")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    staged.replace(path)


def kamcmd(socket: str, *command: str) -> str:
    """Run a Kamailio RPC (e.g. ``ul.dump``) over the control socket *socket*."""
    binary = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
    result = subprocess.run(
        [binary, "-s", socket, *command], capture_output=True, text=True, timeout=10
    )
    if result.returncode != 0:
        raise EdgeError(f"kamcmd {' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout
