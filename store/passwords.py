"""Password hashing for people (scrypt, cost in the hash) and SIP digest credentials (HA1).

A console password is stored as ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64 salt and hash), so
the cost travels with each hash and can be raised later: `needs_rehash` tells the sign-in to
store a new hash once the person's password is known. The first format, ``scrypt$<salt>$<hash>``
(n=2**14, r=8, p=1), is still verified. At most `HASHING_AT_ONCE` hashes run at the same time:
scrypt at OWASP's cost needs 128 MiB each, and a burst of sign-ins must not exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

_DIGEST_BYTES = 32
_SALT_BYTES = 16
HASHING_AT_ONCE = max(1, os.cpu_count() or 1)
_hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's CPU/memory cost *n* (a power of two), block size *r* and parallelism *p*."""

    n: int
    r: int
    p: int

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or self.n > 2**22:
            raise ValueError(f"scrypt n must be a power of two up to 2**22, not {self.n}")
        if not 1 <= self.r <= 32 or not 1 <= self.p <= 16:
            raise ValueError(f"scrypt r must be 1..32 and p 1..16, not r={self.r} p={self.p}")
        if 128 * self.r * self.n > 2**30:
            raise ValueError("scrypt cost above 1 GiB of memory per hash")

    @property
    def memory_bytes(self) -> int:
        """What OpenSSL needs for one hash (128·r·(n+p+2) bytes), plus a little room."""
        return 128 * self.r * (self.n + self.p + 2) + 2**20

    def weaker_than(self, other: ScryptCost) -> bool:
        return self.n < other.n or self.r < other.r or self.p < other.p

    @classmethod
    def parse(cls, value: Any) -> ScryptCost:
        """A cost from settings: a `ScryptCost`, ``{"n":, "r":, "p":}`` or ``[n, r, p]``."""
        if isinstance(value, ScryptCost):
            return value
        if isinstance(value, dict):
            return cls(int(value["n"]), int(value["r"]), int(value["p"]))
        if isinstance(value, list | tuple) and len(value) == 3:
            return cls(*(int(part) for part in value))
        raise ValueError(f"a scrypt cost is {{n, r, p}}, not {value!r}")


#: OWASP Password Storage Cheat Sheet: scrypt with N=2^17, r=8 (1024-byte blocks), p=1.
OWASP_SCRYPT = ScryptCost(2**17, 8, 1)
#: What the first format (``scrypt$salt$hash``) was made with.
LEGACY_SCRYPT = ScryptCost(2**14, 8, 1)


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    with _hashing:
        return hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=cost.n,
            r=cost.r,
            p=cost.p,
            dklen=_DIGEST_BYTES,
            maxmem=cost.memory_bytes,
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, cost: ScryptCost = OWASP_SCRYPT) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for a console user's password."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def _parts(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    """Cost, salt and digest of a stored hash in either format; None when it is not one."""
    fields = stored.split("$")
    try:
        if len(fields) == 3 and fields[0] == "scrypt":
            cost, salt, digest = LEGACY_SCRYPT, fields[1], fields[2]
        elif len(fields) == 6 and fields[0] == "scrypt":
            cost = ScryptCost(int(fields[1]), int(fields[2]), int(fields[3]))
            salt, digest = fields[4], fields[5]
        else:
            return None
        return cost, base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_password(password: str, stored: str) -> bool:
    parts = _parts(stored)
    if parts is None:
        return False
    cost, salt, digest = parts
    return hmac.compare_digest(_scrypt(password, salt, cost), digest)


def stored_cost(stored: str) -> ScryptCost | None:
    parts = _parts(stored)
    return parts[0] if parts else None


def needs_rehash(stored: str, cost: ScryptCost = OWASP_SCRYPT) -> bool:
    """True when *stored* was made weaker than *cost* (or in the first format): store anew.

    A hash stronger than *cost* is kept; lowering the setting never weakens stored hashes.
    """
    if stored.count("$") != 5:
        return True
    found = stored_cost(stored)
    return found is None or found.weaker_than(cost)


def sip_ha1(username: str, realm: str, password: str) -> str:
    """RFC 2617 HA1 = MD5(username:realm:password), what Kamailio's auth_db checks against."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def sip_ha1b(username: str, realm: str, password: str) -> str:
    """HA1 for clients that send ``user@domain`` as the digest username."""
    return hashlib.md5(f"{username}@{realm}:{realm}:{password}".encode()).hexdigest()
