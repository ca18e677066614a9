"""The deployment's private files: ``var/`` 0700, its secrets, database and rendered configs 0600.

Every entry point sets the umask to 0o077 (`private_umask`), so whatever a process creates is
readable by its own user only; `tighten` repairs the modes of an installation made before
(files keep their mode when they are rewritten, so a umask alone does not fix them).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from store.settings import Settings

PRIVATE_UMASK = 0o077
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
#: Files the processes keep directly in ``var/`` (the rest lives in the subdirectories below).
SECRET_FILES = ("deployment-token", "console-secret", "demo-credentials.txt")
#: Subdirectories of ``var/`` whose every file is private (the edge's rendered configuration,
#: dispatcher list, pid file and control socket; recorded prompts uploaded by admins; prompts
#: rendered for the flow editor's preview).
PRIVATE_TREES = ("edge", "recordings", "prompt-preview")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_umask() -> int:
    """Make every file this process creates private to its user; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def make_var_dir(settings: Settings) -> Path:
    """Create ``var/`` (mode 0700) if needed and close it to other users if it was open."""
    var_dir = Path(settings.var_dir)
    var_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    var_dir.chmod(DIRECTORY_MODE)
    return var_dir


def write_private(path: Path, text: str) -> Path:
    """Write *text* to *path*, a file that is mode 0600 from its first byte on."""
    path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), FILE_MODE)  # an existing file keeps its mode otherwise
        handle.write(text)
    return path


def database_files(settings: Settings) -> list[Path]:
    """The SQLite database and its journal files (none for PostgreSQL)."""
    database = settings.sqlite_path
    if database is None:
        return []
    return [database] + [database.with_name(database.name + s) for s in SQLITE_SIDE_FILES]


def tighten(settings: Settings) -> list[Path]:
    """Set ``var/`` to 0700 and every file we keep there (and the database) to 0600; returns
    the paths whose mode changed."""
    changed: list[Path] = []
    var_dir = make_var_dir(settings)
    files = [var_dir / name for name in SECRET_FILES] + database_files(settings)
    for tree in PRIVATE_TREES:
        root = var_dir / tree
        if root.is_dir() and not root.is_symlink():
            _set_mode(root, DIRECTORY_MODE, changed)
            files += [entry for entry in root.rglob("*") if not entry.is_symlink()]
    for path in files:
        _set_mode(path, DIRECTORY_MODE if path.is_dir() else FILE_MODE, changed)
    return changed


def _set_mode(path: Path, mode: int, changed: list[Path]) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
            changed.append(path)
