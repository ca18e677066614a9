"""Downloading one model archive: resumable (HTTP Range), with progress, checked for size and
digest before anyone unpacks it.

The bytes go to ``<name>.part`` beside the final file; an interrupted download keeps that file
and the next attempt asks only for the rest. A file of the wrong size or digest is deleted and
refused, so a bad archive is never unpacked.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

CHUNK = 1 << 16

#: Called with (bytes so far, bytes expected or 0).
Progress = Callable[[int, int], None]


class DownloadError(RuntimeError):
    """The archive could not be downloaded completely (the partial file is kept to resume)."""


class IntegrityError(DownloadError):
    """The downloaded archive has the wrong size or digest (it was deleted)."""


class ProgressBar:
    """A one-line progress bar on a terminal; a line per tenth elsewhere (logs, tests)."""

    def __init__(self, label: str, out: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.width = width
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        tenth = int(fraction * 10)
        if not self.tty and tenth == self.shown and done < total:
            return
        self.shown = tenth
        filled = int(fraction * self.width)
        rate = done / max(time.monotonic() - self.started, 1e-6) / 1e6
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
            f"{done / 1e6:.1f}/{total / 1e6:.1f} MB {rate:.1f} MB/s"
        )
        self.out.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and total and done >= total:
            self.out.write("\n")
        self.out.flush()


def file_digests(path: Path) -> tuple[str, str]:
    """(md5, sha256) of a file, hex."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def verify(path: Path, size: int = 0, md5: str = "", sha256: str = "") -> None:
    """Raise `IntegrityError` (deleting *path*) unless it has the expected size and digests."""
    actual = path.stat().st_size
    problem = ""
    if size and actual != size:
        problem = f"is {actual} bytes, the catalogue says {size}"
    elif md5 or sha256:
        got_md5, got_sha = file_digests(path)
        if md5 and got_md5 != md5.lower():
            problem = f"has md5 {got_md5}, the catalogue says {md5}"
        elif sha256 and got_sha != sha256.lower():
            problem = f"has sha256 {got_sha}, the catalogue says {sha256}"
    if problem:
        path.unlink(missing_ok=True)
        raise IntegrityError(
            f"{path.name} {problem}: refused and deleted (nothing was installed); try again, "
            "and if it repeats the mirror or the catalogue is wrong"
        )


def download(
    url: str,
    target: Path,
    *,
    size: int = 0,
    md5: str = "",
    sha256: str = "",
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch *url* into *target* (resuming ``target.part``), verify it, and return *target*."""
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.exists() else 0
    if size and have > size:
        partial.unlink()
        have = 0
    if not size or have < size:
        have = _fetch(url, partial, have, size, progress, timeout)
    if size and have < size:
        raise DownloadError(
            f"download of {url} stopped at {have} of {size} bytes; run the same command "
            "again to resume it"
        )
    if progress is not None and (not size or have == size):
        progress(have, size or have)
    verify(partial, size, md5, sha256)
    os.replace(partial, target)
    return target


def _fetch(
    url: str, partial: Path, have: int, size: int, progress: Progress | None, timeout: float
) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": "centralino-models"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the file is complete already
            return have
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"cannot download {url}: {exc}") from None
    with response:
        if have and getattr(response, "status", 200) != 206:
            have = 0  # the server ignored the range: start again
        total = size or (have + int(response.headers.get("Content-Length") or 0))
        with partial.open("ab" if have else "wb") as out:
            try:
                while block := response.read(CHUNK):
                    out.write(block)
                    have += len(block)
                    if size and have > size:
                        break  # more than the catalogue said: `verify` refuses it
                    if progress is not None:
                        progress(have, total)
            except (OSError, http.client.HTTPException) as exc:  # reset, timeout, short read
                raise DownloadError(
                    f"download of {url} broke off at {have} bytes ({exc}); run the same "
                    "command again to resume it"
                ) from None
    return have
