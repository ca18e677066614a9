"""A benchmark's scratch directory: made, handed to the phones for their logs, removed after.

`telephony.testing.phones` writes each phone's log under ``PHONE_LOG_DIR``. A benchmark sets it
to its own directory only when the caller has not chosen one, and puts back what was there when
it ends, since the directory is removed and a caller in the same process (``tests/bench``)
starts phones afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PHONE_LOGS = "PHONE_LOG_DIR"


@contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A fresh directory named ``prefix...`` under the system's temporary directory, where the
    phones log unless ``PHONE_LOG_DIR`` is already set; removed at the end unless ``keep``."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    chosen = os.environ.get(PHONE_LOGS)
    if chosen is None:
        os.environ[PHONE_LOGS] = str(workdir)
    try:
        yield workdir
    finally:
        if chosen is None:
            os.environ.pop(PHONE_LOGS, None)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
