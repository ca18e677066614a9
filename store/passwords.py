"""Password hashing for people (scrypt) and SIP digest credentials for devices (HA1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """Return ``scrypt$salt$hash`` for a console user's password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def sip_ha1(username: str, realm: str, password: str) -> str:
    """RFC 2617 HA1 = MD5(username:realm:password), what Kamailio's auth_db checks against."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def sip_ha1b(username: str, realm: str, password: str) -> str:
    """HA1 for clients that send ``user@domain`` as the digest username."""
    return hashlib.md5(f"{username}@{realm}:{realm}:{password}".encode()).hexdigest()
