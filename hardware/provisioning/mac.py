"""A desk phone's MAC address: the spellings phones and admins use, normalised to 12 hex digits."""

from __future__ import annotations

import re

_SEPARATED = re.compile(r"[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}")
_CISCO_DOTTED = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")
_BARE = re.compile(r"[0-9a-f]{12}")


class MalformedMac(ValueError):
    """Not a MAC address in any accepted spelling (the provisioning endpoint answers 400)."""


def normalise_mac(text: str) -> str:
    """``00:15:65:AA:BB:CC``, ``00-15-65-aa-bb-cc``, ``0015.65aa.bbcc`` or ``001565aabbcc`` ->
    ``001565aabbcc``; anything else raises `MalformedMac`."""
    candidate = text.strip().lower()
    if not (
        _SEPARATED.fullmatch(candidate)
        or _CISCO_DOTTED.fullmatch(candidate)
        or _BARE.fullmatch(candidate)
    ):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise MalformedMac(
            f"{shown!r} is not a MAC address: use 12 hex digits, e.g. 00:15:65:aa:bb:cc"
        )
    digits = re.sub(r"[^0-9a-f]", "", candidate)
    if digits == "000000000000":
        raise MalformedMac("000000000000 is the shared default file's name, not a phone")
    return digits


def colon_mac(mac: str) -> str:
    """``001565aabbcc`` -> ``00:15:65:aa:bb:cc`` (how `Device.mac` is stored)."""
    digits = normalise_mac(mac)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
