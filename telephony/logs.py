"""Structured log lines (``time level process logger: message key=value``) for every process."""

from __future__ import annotations

import logging
import os
import sys


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        line = f"{stamp}.{int(record.msecs):03d} {record.levelname:<5} pid={record.process} "
        line += f"{record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str | None = None) -> None:
    """Log to stderr at *level* (or ``CENTRALINO_LOG_LEVEL``, default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("CENTRALINO_LOG_LEVEL", "INFO")).upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
