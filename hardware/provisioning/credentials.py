"""A desk phone's secrets, derived and never stored: its SIP password and its provisioning
token are HMAC-SHA256 of a per-deployment key (``var/provisioning.key``, 0600) over the phone's
MAC, extension and credential generation. The database keeps the generation and the HA1s only;
re-serving a file gives the same password, a rotation bumps the generation (see
docs/security-hardware.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

from hardware.provisioning.mac import normalise_mac

KEY_BYTES = 32
KEY_FILE = "provisioning.key"
PASSWORD_CHARS = 20  # base32: 100 bits
TOKEN_CHARS = 32  # base32: 160 bits


class KeyFileError(RuntimeError):
    """The provisioning key is missing, unreadable, or readable by others."""


def load_or_create_key(var_dir: Path) -> bytes:
    """The deployment's provisioning key, created (0600, never overwritten) on first use."""
    path = var_dir / KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "wb") as created:
            created.write(os.urandom(KEY_BYTES))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by others (mode {mode:o}): chmod 600 {path}")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path} is not a provisioning key ({len(key)} bytes): restore it "
                           "from the backup, or remove it and rotate every phone")
    return key


def _derive(key: bytes, purpose: str, *parts: str) -> str:
    message = "|".join([purpose, *parts]).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()


def sip_password(key: bytes, mac: str, extension: str, generation: int) -> str:
    """The phone's SIP password for this generation of its credentials."""
    if generation < 1:
        raise ValueError("credential generations start at 1")
    return _derive(key, "sip", normalise_mac(mac), extension, str(generation))[:PASSWORD_CHARS]


def provisioning_token(key: bytes, mac: str, generation: int) -> str:
    """What the phone presents to fetch its file (its provisioning URL's secret part)."""
    return _derive(key, "fetch", normalise_mac(mac), str(generation))[:TOKEN_CHARS]


def token_matches(key: bytes, mac: str, generation: int, presented: str) -> bool:
    """Constant-time check of a presented token (the current generation only)."""
    return hmac.compare_digest(provisioning_token(key, mac, generation), presented)
