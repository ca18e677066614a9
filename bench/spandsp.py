"""spandsp's G.168 line echo canceller (Debian's libspandsp 0.0.6) through ctypes, as a
reference for ours: adaptation, NLP and the transmit high-pass switched as its tests do."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

import numpy as np

# echo_can_adaption_mode() flags, spandsp/echo.h
ECHO_CAN_USE_ADAPTION = 0x01
ECHO_CAN_USE_NLP = 0x02
ECHO_CAN_USE_CNG = 0x04
ECHO_CAN_USE_CLIP = 0x08
ECHO_CAN_USE_TX_HPF = 0x20
ECHO_CAN_USE_RX_HPF = 0x40


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C code that prints to stdout (Debian's spandsp traces its state every sample)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _spandsp() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("spandsp") or "libspandsp.so.2")
    lib.echo_can_init.restype = ctypes.c_void_p
    lib.echo_can_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.echo_can_update.restype = ctypes.c_int16
    lib.echo_can_update.argtypes = [ctypes.c_void_p, ctypes.c_int16, ctypes.c_int16]
    lib.echo_can_hpf_tx.restype = ctypes.c_int16
    lib.echo_can_hpf_tx.argtypes = [ctypes.c_void_p, ctypes.c_int16]
    lib.echo_can_adaption_mode.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.echo_can_flush.argtypes = [ctypes.c_void_p]
    lib.echo_can_free.argtypes = [ctypes.c_void_p]
    return lib


class SpandspEchoCanceller:
    """spandsp's line echo canceller (time-domain NLMS, two paths, one sample per call).

    ``process(near, far)`` takes frames like ours; ``adapt`` and ``nlp`` switch its
    adaptation (G.168's h-register freeze) and its non-linear processor.
    """

    latency = 0

    def __init__(self, tail_taps: int = 256, nlp: bool = False) -> None:
        self._lib = _spandsp()
        self._adapt = True
        self._nlp = nlp
        self._state = self._lib.echo_can_init(tail_taps, self._mode())
        if not self._state:
            raise RuntimeError(f"spandsp echo_can_init({tail_taps}) failed")
        self._lib.echo_can_flush(self._state)
        self._lib.echo_can_adaption_mode(self._state, self._mode())

    def _mode(self) -> int:
        adapt = ECHO_CAN_USE_ADAPTION if self._adapt else 0
        return adapt | (ECHO_CAN_USE_NLP | ECHO_CAN_USE_CLIP if self._nlp else 0)

    @property
    def adapt(self) -> bool:
        return self._adapt

    @adapt.setter
    def adapt(self, enabled: bool) -> None:
        self._adapt = enabled
        self._lib.echo_can_adaption_mode(self._state, self._mode())

    @property
    def nlp(self) -> bool:
        return self._nlp

    @nlp.setter
    def nlp(self, enabled: bool) -> None:
        self._nlp = enabled
        self._lib.echo_can_adaption_mode(self._state, self._mode())

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Cancel one frame: *near* (what came back) minus the echo of *far*, as int16."""
        update, state = self._lib.echo_can_update, self._state
        return np.array(
            [update(state, int(tx), int(rx)) for tx, rx in zip(far, near, strict=True)],
            dtype=np.int16,
        )

    def close(self) -> None:
        if self._state:
            self._lib.echo_can_free(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
