"""Password hashes: OWASP's scrypt cost written into each hash, the first format still read."""

from __future__ import annotations

import base64
import hashlib

import pytest

from store.passwords import (
    LEGACY_SCRYPT,
    OWASP_SCRYPT,
    ScryptCost,
    hash_password,
    needs_rehash,
    stored_cost,
    verify_password,
)

LOW = ScryptCost(2**10, 8, 1)


def legacy_hash(password: str) -> str:
    """``scrypt$salt$hash`` at n=2**14, as the first release stored it."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_new_hashes_carry_owasp_cost() -> None:
    assert (OWASP_SCRYPT.n, OWASP_SCRYPT.r, OWASP_SCRYPT.p) == (2**17, 8, 1)
    stored = hash_password("correct horse")  # the real cost: 128 MiB, once
    assert stored.startswith("scrypt$131072$8$1$")
    assert stored_cost(stored) == OWASP_SCRYPT
    assert verify_password("correct horse", stored)
    assert not needs_rehash(stored)


def test_the_first_format_still_verifies_and_asks_for_a_rehash() -> None:
    old = legacy_hash("s3cret")
    assert stored_cost(old) == LEGACY_SCRYPT
    assert verify_password("s3cret", old) and not verify_password("S3cret", old)
    assert needs_rehash(old) and needs_rehash(old, LOW)  # old format: always redone


def test_weaker_hashes_are_redone_and_stronger_ones_kept() -> None:
    low = hash_password("pw", LOW)
    assert low.startswith("scrypt$1024$8$1$") and verify_password("pw", low)
    assert needs_rehash(low, OWASP_SCRYPT)
    assert not needs_rehash(low, LOW)
    assert not needs_rehash(low, ScryptCost(2**9, 8, 1))  # lowering the setting weakens nothing


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        "",
        "bcrypt$x$y",
        "scrypt$131072$8$1$not base64!$AAAA",
        "scrypt$3$8$1$AAAA$AAAA",  # n not a power of two
        "scrypt$4194304$32$1$AAAA$AAAA",  # 16 GiB: refused before hashing
        "scrypt$x$8$1$AAAA$AAAA",
    ],
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password("pw", stored)
    assert needs_rehash(stored)


def test_costs_from_settings() -> None:
    assert ScryptCost.parse({"n": 1024, "r": 8, "p": 1}) == LOW
    assert ScryptCost.parse([1024, 8, 1]) == LOW
    with pytest.raises(ValueError, match="power of two"):
        ScryptCost.parse({"n": 1000, "r": 8, "p": 1})
    with pytest.raises(ValueError, match=r"\{n, r, p\}"):
        ScryptCost.parse("fast")
