"""HTTP Digest (RFC 7616, MD5, qop=auth) checked against a device's stored SIP HA1: a headset
proves it holds its extension's SIP password without the console ever knowing it. Nonces are
stateless: a timestamp signed with the console's secret, good for `NONCE_SECONDS`."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

#: How long a challenge's nonce may be answered.
NONCE_SECONDS = 300.0
_PAIR = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class DigestAnswer:
    """The parts of an ``Authorization: Digest ...`` header the check needs."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str
    nc: str
    cnonce: str

    @classmethod
    def parse(cls, header: str) -> DigestAnswer | None:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return None
        fields = {m[1].lower(): m[2] if m[2] else m[3] for m in _PAIR.finditer(rest)}
        try:
            return cls(**{name: fields.get(name, "") for name in (
                "username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")})
        except TypeError:
            return None


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def make_nonce(secret: bytes, now: float | None = None) -> str:
    stamp = f"{int(now if now is not None else time.time())}.{secrets.token_hex(4)}"
    mac = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{stamp}.{mac}"


def nonce_is_fresh(secret: bytes, nonce: str, now: float | None = None) -> bool:
    stamp, _, mac = nonce.rpartition(".")
    expected = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    if not stamp or not hmac.compare_digest(mac, expected):
        return False
    try:
        issued = int(stamp.split(".", 1)[0])
    except ValueError:
        return False
    age = (now if now is not None else time.time()) - issued
    return 0 <= age <= NONCE_SECONDS


def challenge(secret: bytes, realm: str) -> str:
    """The ``WWW-Authenticate`` value of a 401."""
    return (f'Digest realm="{realm}", nonce="{make_nonce(secret)}", qop="auth", '
            "algorithm=MD5")


def verify(answer: DigestAnswer, *, secret: bytes, method: str, uri: str, realm: str,
           username: str, ha1: str) -> str | None:
    """None when *answer* proves *username*'s password for this request, else why not."""
    if answer.username != username:
        return "another device's name"
    if answer.realm != realm:
        return "wrong realm"
    if answer.uri != uri:
        return "signed another address"
    if answer.qop != "auth" or not answer.nc or not answer.cnonce:
        return "qop=auth with nc and cnonce is required"
    if not nonce_is_fresh(secret, answer.nonce):
        return "stale or forged nonce"
    expected = _md5(f"{ha1}:{answer.nonce}:{answer.nc}:{answer.cnonce}:auth:"
                    f"{_md5(f'{method}:{uri}')}")
    if not hmac.compare_digest(expected, answer.response.lower()):
        return "wrong password"
    return None
