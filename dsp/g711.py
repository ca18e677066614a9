"""G.711 companding: µ-law (PCMU) and A-law (PCMA) encode and decode of 16-bit linear PCM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

#: µ-law bias added before the segment search (in the 14-bit domain, 0x84 >> 2).
ULAW_BIAS = 33
#: Largest 14-bit magnitude µ-law can represent before clipping.
ULAW_CLIP = 8159


@njit(cache=True, nogil=True)
def _ulaw_code(sample: int | np.int32) -> int:
    """One µ-law code for a 16-bit sample (G.711 table 2a, computed by segment)."""
    pcm = int(sample) >> 2  # 14-bit linear
    if pcm < 0:
        pcm = -pcm
        mask = 0x7F
    else:
        mask = 0xFF
    if pcm > ULAW_CLIP:
        pcm = ULAW_CLIP
    pcm += ULAW_BIAS
    segment = 0
    limit = 0x3F
    while segment < 8 and pcm > limit:
        segment += 1
        limit = (limit << 1) | 1
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0F)) ^ mask


@njit(cache=True, nogil=True)
def _alaw_code(sample: int | np.int32) -> int:
    """One A-law code for a 16-bit sample (G.711 table 1a, computed by segment)."""
    pcm = int(sample) >> 3  # 13-bit linear
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    segment = 0
    limit = 0x1F
    while segment < 8 and pcm > limit:
        segment += 1
        limit = (limit << 1) | 1
    if segment >= 8:
        return 0x7F ^ mask
    mantissa = (pcm >> 1) & 0x0F if segment < 2 else (pcm >> segment) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


@njit(cache=True, nogil=True)
def ulaw_encode_into(pcm: np.ndarray, out: np.ndarray) -> None:
    for i in range(pcm.shape[0]):
        out[i] = _ulaw_code(np.int32(pcm[i]))


@njit(cache=True, nogil=True)
def alaw_encode_into(pcm: np.ndarray, out: np.ndarray) -> None:
    for i in range(pcm.shape[0]):
        out[i] = _alaw_code(np.int32(pcm[i]))


@njit(cache=True, nogil=True)
def decode_into(codes: np.ndarray, table: np.ndarray, out: np.ndarray) -> None:
    for i in range(codes.shape[0]):
        out[i] = table[codes[i]]


def _ulaw_linear(code: np.ndarray) -> np.ndarray:
    inverted = ~code.astype(np.int32) & 0xFF
    magnitude = (((inverted & 0x0F) << 3) + 0x84) << ((inverted & 0x70) >> 4)
    return np.where(inverted & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_linear(code: np.ndarray) -> np.ndarray:
    toggled = code.astype(np.int32) ^ 0x55
    segment = (toggled & 0x70) >> 4
    magnitude = (toggled & 0x0F) << 4
    magnitude = np.where(segment == 0, magnitude + 8, magnitude + 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    return np.where(toggled & 0x80, magnitude, -magnitude).astype(np.int16)


#: Linear value of each of the 256 codes (numpy at import: no numba compile).
ULAW_TO_LINEAR: np.ndarray = _ulaw_linear(np.arange(256))
ALAW_TO_LINEAR: np.ndarray = _alaw_linear(np.arange(256))


_BUFFERS = (bytes, bytearray, memoryview)


def _linear(pcm: np.ndarray | bytes) -> np.ndarray:
    if isinstance(pcm, _BUFFERS):
        return np.frombuffer(pcm, dtype="<i2")
    if isinstance(pcm, np.ndarray) and pcm.dtype == np.int16 and pcm.flags.c_contiguous:
        return pcm
    return np.ascontiguousarray(pcm, dtype=np.int16)


def ulaw_encode(pcm: np.ndarray | bytes) -> np.ndarray:
    """µ-law codes (uint8) of 16-bit linear samples (int16 array or little-endian bytes)."""
    samples = _linear(pcm)
    out = np.empty(samples.shape[0], dtype=np.uint8)
    ulaw_encode_into(samples, out)
    return out


def alaw_encode(pcm: np.ndarray | bytes) -> np.ndarray:
    """A-law codes (uint8) of 16-bit linear samples (int16 array or little-endian bytes)."""
    samples = _linear(pcm)
    out = np.empty(samples.shape[0], dtype=np.uint8)
    alaw_encode_into(samples, out)
    return out


def ulaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """16-bit linear samples of µ-law codes (bytes or uint8 array)."""
    return _decode(codes, ULAW_TO_LINEAR)


def alaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """16-bit linear samples of A-law codes (bytes or uint8 array)."""
    return _decode(codes, ALAW_TO_LINEAR)


def _decode(codes: np.ndarray | bytes, table: np.ndarray) -> np.ndarray:
    if isinstance(codes, _BUFFERS):
        codes = np.frombuffer(codes, dtype=np.uint8)
    elif codes.dtype != np.uint8 or not codes.flags.c_contiguous:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
    out = np.empty(codes.shape[0], dtype=np.int16)
    decode_into(codes, table, out)
    return out


@dataclass(frozen=True)
class Companding:
    """One G.711 law as an RTP payload: its name, static payload type and the two directions."""

    name: str
    payload_type: int
    encode: Callable[[np.ndarray | bytes], np.ndarray]
    decode: Callable[[np.ndarray | bytes], np.ndarray]


#: G.711 laws by their SDP encoding name.
CODECS: dict[str, Companding] = {
    "PCMU": Companding("PCMU", 0, ulaw_encode, ulaw_decode),
    "PCMA": Companding("PCMA", 8, alaw_encode, alaw_decode),
}
