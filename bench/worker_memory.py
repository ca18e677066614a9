"""Idle memory of switch workers started alone versus forked from a parent that imported
numpy and numba (as ``centralino up`` does), with and without ``gc.freeze()``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.resources import proc_number, pss_kib

ROOT = Path(__file__).resolve().parent.parent


def memory_of(pids: Sequence[int]) -> dict[str, float]:
    rss = [proc_number(pid, "Rss", "smaps_rollup") for pid in pids]
    pss = [pss_kib(pid) for pid in pids]
    return {
        "workers": len(pids),
        "rss_mib_each": round(sum(rss) / len(rss) / 1024, 1),
        "pss_mib_each": round(sum(pss) / len(pss) / 1024, 1),
        "pss_mib_total": round(sum(pss) / 1024, 1),
    }


#: label -> bench.forkworkers options
MEMORY_VARIANTS = {
    "spawned": ["--mode", "spawn"],
    "spawned, numba imported": ["--mode", "spawn", "--preload"],
    "forked after numba (centralino up)": ["--mode", "fork", "--preload"],
    "forked after numba + gc.freeze()": ["--mode", "fork", "--preload", "--freeze"],
}


def registered_pids(db_url: str, prefix: str, count: int, timeout: float = 60.0) -> list[int]:
    """Pids of the *count* live workers named *prefix*-n, once all registered."""
    from sqlalchemy import select

    from store.db import Database
    from store.models import Worker

    db = Database(db_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                pids = session.scalars(
                    select(Worker.pid).where(Worker.name.startswith(prefix + "-"), Worker.alive)
                ).all()
            if len(pids) >= count:
                return [int(pid) for pid in pids]
            time.sleep(0.2)
    finally:
        db.dispose()
    raise RuntimeError(f"workers {prefix}: {len(pids)} of {count} registered")


@contextlib.contextmanager
def worker_group(
    config: Path, db_url: str, prefix: str, count: int, options: list[str]
) -> Iterator[tuple[int, list[int]]]:
    """`bench.forkworkers` running *count* workers: (parent pid, worker pids); stopped after."""
    argv = [sys.executable, "-m", "bench.forkworkers", "--config", str(config)]
    argv += ["--count", str(count), "--prefix", prefix, *options]
    with (config.parent / f"{prefix}.log").open("wb") as log:
        parent = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield parent.pid, registered_pids(db_url, prefix, count)
    finally:
        stop_group(parent)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_memory(root: Path, count: int, settle: float) -> dict[str, Any]:
    """Idle RSS/PSS of *count* workers per `MEMORY_VARIANTS` entry, one variant at a time."""
    from store.migrate import upgrade
    from telephony.testing.deployment import Deployment

    root.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{root / 'memory.sqlite'}"
    upgrade(db_url)
    deployment = Deployment(root, db_url=db_url)
    config = deployment.config(heartbeat_seconds=1.0, stale_after_seconds=5.0)
    result: dict[str, Any] = {}
    try:
        for n, (label, options) in enumerate(MEMORY_VARIANTS.items()):
            with worker_group(config, db_url, f"mem{n}", count, options) as (parent, pids):
                time.sleep(settle)
                result[label] = memory_of(pids)
                if "fork" in options:
                    parent_pss = pss_kib(parent) / 1024
                    result[label]["parent_pss_mib"] = round(parent_pss, 1)
                    result[label]["pss_mib_total"] = round(
                        result[label]["pss_mib_total"] + parent_pss, 1
                    )
    finally:
        deployment.close()
    return result
