"""Copying pjmedia's audio frames out of pjsua2: one memcpy per 20 ms frame, proven at import.

pjsua2 hands a frame's samples as a SWIG ``std::vector<unsigned char>``; ``bytes(buf)`` walks it
element by element, which cost ~270 µs per frame on pjmedia's clock thread (bench/calls.py found
it). The media taps of the worker and the headset's call port both copy through `vector_bytes`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import pjsua2 as pj

_POINTER = ctypes.sizeof(ctypes.c_void_p)


def _vector_bytes_fast(buf: pj.ByteVector) -> bytes:
    """One memcpy: libstdc++ keeps a vector as (begin, end, capacity) pointers."""
    address = int(buf.this)
    begin = ctypes.c_void_p.from_address(address).value or 0
    end = ctypes.c_void_p.from_address(address + _POINTER).value or 0
    return ctypes.string_at(begin, end - begin) if end > begin else b""


def _choose_vector_bytes() -> Callable[[pj.ByteVector], bytes]:
    """The fast copy when it reads a known vector exactly, else the slow, always-right one."""
    probe = pj.ByteVector(list(range(256)) * 2)
    try:
        if _vector_bytes_fast(probe) == bytes(probe):
            return _vector_bytes_fast
    except (ValueError, OSError, AttributeError):
        pass
    return bytes


vector_bytes = _choose_vector_bytes()
