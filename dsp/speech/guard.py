"""Who may open a recognition stream and how much one may take, with the close code of each limit.

The WebSocket handshake (and ``GET /health``) needs the deployment token, as
``Authorization: Bearer <token>`` or, for vosk-server clients that cannot set headers,
``?token=<token>`` in the URL; a browser's ``Origin`` is refused unless configured. Once open,
a stream is closed with 1013 (try again later) when the service or its client address already
has too many, 1008 (policy violation) when its audio grows longer than allowed or its phrase
list is too large, and 1009 (too big) by the WebSocket layer for an oversized message.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from urllib.parse import parse_qs, urlsplit

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013
TOKEN_ENV = "CENTRALINO_DEPLOYMENT_TOKEN"


@dataclass(frozen=True)
class SpeechLimits:
    """Bounds on the service's resources; every one is configurable (``speech_limits``)."""

    max_streams: int = 64  # open streams, all clients together
    max_streams_per_client: int = 32  # open streams from one address (a worker: 2 per call)
    max_stream_seconds: float = 4 * 3600.0  # audio in one stream (a long call, transcribed)
    max_message_bytes: int = 256 * 1024  # one WebSocket message (1 s at 48 kHz is 96 KB)
    max_phrases: int = 1000  # entries in a config's phrase_list
    max_phrase_chars: int = 200  # characters in one entry

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> SpeechLimits:
        """Limits from ``speech_limits`` (names as above); unknown names are an error."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"unknown speech limit(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        parsed: dict[str, float] = {}
        for name, value in values.items():
            number = float(value) if known[name] == "float" else int(value)
            if not number > 0:
                raise ValueError(f"speech limit {name} must be positive, not {value!r}")
            parsed[name] = number
        return cls(**parsed)  # type: ignore[arg-type]

    def phrase_list_problem(self, phrases: tuple[str, ...] | None) -> str | None:
        """Why a config's phrase list is refused, or None."""
        if phrases is None:
            return None
        if len(phrases) > self.max_phrases:
            return f"phrase list of {len(phrases)} entries; at most {self.max_phrases}"
        longest = max((len(p) for p in phrases), default=0)
        if longest > self.max_phrase_chars:
            return f"a phrase of {longest} characters; at most {self.max_phrase_chars}"
        return None


def offered_token(path: str, authorization: str | None) -> str | None:
    """The token a handshake carries: the Bearer header first, else ``?token=``."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    values = parse_qs(urlsplit(path).query).get("token")
    return values[0] if values else None


def token_matches(offered: str | None, token: str) -> bool:
    return offered is not None and hmac.compare_digest(offered.encode(), token.encode())


def without_token(path: str) -> str:
    """*path* with the value of any ``token`` parameter hidden, for logs."""
    parts = urlsplit(path)
    query = [
        f"{key}={'...' if key == 'token' else value}"
        for key, values in parse_qs(parts.query).items()
        for value in values
    ]
    return parts.path + ("?" + "&".join(query) if query else "")


class Admission:
    """Counts open streams, globally and per client address, against the limits."""

    def __init__(self, limits: SpeechLimits) -> None:
        self.limits = limits
        self.per_client: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.per_client.values())

    def admit(self, client: str) -> str | None:
        """Take a slot for *client*; returns why not (then nothing was taken)."""
        if self.total >= self.limits.max_streams:
            return f"the service has {self.total} streams open; at most {self.limits.max_streams}"
        if self.per_client[client] >= self.limits.max_streams_per_client:
            return (
                f"{client} has {self.per_client[client]} streams open; at most "
                f"{self.limits.max_streams_per_client} per client"
            )
        self.per_client[client] += 1
        return None

    def release(self, client: str) -> None:
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser) is fine; a browser's must be listed."""
    return origin is None or origin in set(allowed)
