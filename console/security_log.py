"""Security events as one structured line each: ``event=signin.failed user=bob source=10.0.0.7``.

Values from outside (a typed user name) are written bare only when they are plain words;
anything else is a quoted logfmt value with control characters escaped, so a name cannot
forge fields or lines. The line goes through `loglines` like every other. Passwords never
reach this module. `centralino console` also appends them to ``var/console/security.log``;
``docs/fail2ban/centralino-console.conf`` is the fail2ban filter for that file.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from flask import has_request_context, request

from loglines import also_to_file, quoted

log = logging.getLogger("centralino.security")

_PLAIN = re.compile(r"[A-Za-z0-9._@:+/-]{1,200}")
_WARNING_EVENTS = {"signin.failed", "session.refused", "profile.refused", "stream.refused"}


def _value(value: object) -> str:
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in quoted(text[:200]))


def client_address() -> str:
    """The client's address (the proxy's, unless the console is configured to trust it)."""
    return (request.remote_addr or "?") if has_request_context() else "-"


def write_to(path: Path) -> logging.Handler:
    """Also append the security events to *path* (folder 0700, file 0600), in the same line
    format as the process log, for fail2ban. Returns the handler."""
    return also_to_file(log.name, path)


def security_event(event: str, user: object, source: str | None = None, **fields: object) -> str:
    """Log ``event= user= source= ...`` (source: the client's address) and return the line."""
    ordered = {"user": user, "source": source or client_address(), **fields}
    line = " ".join([f"event={event}", *(f"{key}={_value(v)}" for key, v in ordered.items())])
    log.log(logging.WARNING if event in _WARNING_EVENTS else logging.INFO, "%s", line)
    return line
