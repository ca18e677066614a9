"""Whether an incoming INVITE asks to be answered at once (intercom, or the console's
"answer"): ``Call-Info: <...>;answer-after=N`` or ``Alert-Info: <...>;info=alert-autoanswer``
(and the ``Auto Answer`` spelling some PBXs send)."""

from __future__ import annotations

import re

_ANSWER_AFTER = re.compile(r";\s*answer-after\s*=\s*(\d+)", re.IGNORECASE)
_AUTO_ANSWER = re.compile(r"info\s*=\s*alert-autoanswer|auto[ -]?answer", re.IGNORECASE)


def answer_after(message: str) -> float | None:
    """Seconds to wait before answering, from the INVITE's headers; None: ring normally."""
    head = message.split("\r\n\r\n", 1)[0]
    for line in re.split(r"\r?\n", head)[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "call-info":
            found = _ANSWER_AFTER.search(value)
            if found:
                return float(min(int(found[1]), 60))
        elif name == "alert-info" and _AUTO_ANSWER.search(value):
            return 0.0
    return None
