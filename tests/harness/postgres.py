"""A throw-away PostgreSQL server for tests: its own cluster in a temp dir, on a free port."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from telephony.testing.ports import free_port


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def running_postgres(address: str = "127.0.0.1", clients: str | None = None) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh PostgreSQL cluster; removed afterwards. It listens on
    loopback and *address*; *clients* (a network such as ``10.77.0.0/24``) may connect there
    too (trusted, as loopback is: a throw-away cluster on a private network)."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
    data = Path(tempfile.mkdtemp(prefix="centralino-pg-"))
    shutil.chown(data, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_postgres,
            str(binaries / "initdb"),
            "-D",
            str(data / "db"),
            "-A",
            "trust",
            "-U",
            "centralino",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    if clients:
        with (data / "db" / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {clients} trust\n")
    listen = ",".join(dict.fromkeys(["127.0.0.1", address]))
    port = free_port()
    server = subprocess.Popen(
        [
            *as_postgres,
            str(binaries / "postgres"),
            "-D",
            str(data / "db"),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            f"listen_addresses={listen}",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while (
            subprocess.run(
                [str(binaries / "pg_isready"), "-h", address, "-p", str(port)],
                capture_output=True,
            ).returncode
            != 0
        ):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.1)
        yield f"postgresql+psycopg2://centralino@{address}:{port}/postgres"
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)
