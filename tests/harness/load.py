"""CPU load on purpose: busy processes that compete with the system under test for the cores."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def cpu_burners(count: int | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """*count* processes (default: one per core, plus one) spinning at normal priority for the
    block's duration: the scheduler then hands the system's threads their time late and in
    bursts, as on a busy host."""
    count = (os.cpu_count() or 1) + 1 if count is None else count
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)
    ]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()
