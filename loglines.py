"""One log format for every Centralino process: a ``key=value`` line per record (logfmt).

Every line starts ``ts=<UTC ISO 8601> level=<LEVEL> logger=<name> pid=<pid>``; a message that is
already structured (``event=<name> key=value ...``, as the speech service writes) follows as
it is, any other message becomes ``msg="..."``. A traceback follows its line. Process entry
points (``centralino``, the switch worker, the console, the speech service) call
`setup_logging`; library code only asks `logging.getLogger`. This module stands alone (standard
library only) so that every package may import it without crossing a package boundary.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

#: Environment variable naming the level when no ``--log-level`` is given.
LEVEL_VARIABLE = "CENTRALINO_LOG_LEVEL"
#: Libraries whose INFO lines would drown ours.
QUIET = ("alembic", "websockets")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def quoted(text: str) -> str:
    """*text* as a logfmt value: double-quoted, with backslash, quote and newlines escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


class LogLineFormatter(logging.Formatter):
    """Formats a record as one ``ts=... level=... logger=... pid=...`` line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage()
        body = message if message.startswith("event=") else "msg=" + quoted(message)
        line = (
            f"ts={stamp}.{int(record.msecs):03d}Z level={record.levelname} "
            f"logger={record.name} pid={record.process} {body}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def setup_logging(level: str | None = None, stream: TextIO | None = None) -> None:
    """Send every record to *stream* (stderr) as a log line, at *level*.

    Without *level*: ``CENTRALINO_LOG_LEVEL``, else INFO, the first time; a later call (a
    process entry point started by ``centralino``, which set logging up already) keeps the
    level it finds. Raises ValueError, naming the valid levels, for an unknown one.
    """
    root = logging.getLogger()
    installed = any(isinstance(h.formatter, LogLineFormatter) for h in root.handlers)
    chosen = level or (None if installed else os.environ.get(LEVEL_VARIABLE) or "INFO")
    if chosen is not None and chosen.upper() not in LEVELS:
        raise ValueError(f"unknown log level {chosen!r}: use one of {', '.join(LEVELS)}")
    if not installed or stream is not None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(LogLineFormatter())
        root.handlers[:] = [handler]
    if chosen is not None:
        root.setLevel(chosen.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def also_to_file(logger: str, path: str | os.PathLike[str]) -> logging.Handler:
    """Also append *logger*'s records to *path* as log lines (its folder 0700, the file 0600),
    e.g. a security log that fail2ban reads. Returns the handler."""
    folder = os.path.dirname(os.fspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    os.chmod(path, 0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(LogLineFormatter())
    logging.getLogger(logger).addHandler(handler)
    return handler
