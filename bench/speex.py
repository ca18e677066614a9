"""libspeexdsp's echo canceller (MDF) and its preprocessor's residual-echo suppressor, through
ctypes, as a reference for ours."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

SPEEX_ECHO_SET_SAMPLING_RATE = 24
SPEEX_PREPROCESS_SET_DENOISE = 0
SPEEX_PREPROCESS_SET_ECHO_STATE = 24


_INT16_P = ctypes.POINTER(ctypes.c_int16)


def _load(name: str, soname: str) -> ctypes.CDLL:
    path = ctypes.util.find_library(name) or soname
    return ctypes.CDLL(path)


def _speexdsp() -> ctypes.CDLL:
    lib = _load("speexdsp", "libspeexdsp.so.1")
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, _INT16_P, _INT16_P, _INT16_P]
    lib.speex_preprocess_state_init.restype = ctypes.c_void_p
    lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, _INT16_P]
    return lib


class SpeexEchoCanceller:
    """libspeexdsp's echo canceller, optionally followed by its residual-echo suppressor.

    Its filter is *tail_ms* long (libspeexdsp rounds the length up to whole frames: 128 ms in
    20 ms frames is 7 blocks, 140 ms, as ours). Its input passes a DC notch (a high-pass at
    about 100-200 Hz) and, with the suppressor, the preprocessor's output is one frame late:
    ``latency`` says how many samples.
    """

    def __init__(
        self, clock_rate: int = 8000, tail_ms: int = 128, frame: int = 160, suppress: bool = False
    ) -> None:
        self._lib = _speexdsp()
        self.frame = frame
        self.latency = frame if suppress else 0
        self._echo = self._lib.speex_echo_state_init(frame, clock_rate * tail_ms // 1000)
        rate = ctypes.c_int(clock_rate)
        self._lib.speex_echo_ctl(self._echo, SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        self._pre = None
        if suppress:
            self._pre = self._lib.speex_preprocess_state_init(frame, clock_rate)
            self._lib.speex_preprocess_ctl(
                self._pre, SPEEX_PREPROCESS_SET_ECHO_STATE, ctypes.c_void_p(self._echo)
            )
        self._near = np.zeros(frame, dtype=np.int16)
        self._far = np.zeros(frame, dtype=np.int16)
        self._out = np.zeros(frame, dtype=np.int16)
        self._pointers = tuple(
            a.ctypes.data_as(_INT16_P) for a in (self._near, self._far, self._out)
        )

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Cancel one frame: *near* (what came back) minus the echo of *far*, as int16."""
        self._near[:] = near
        self._far[:] = far
        self._lib.speex_echo_cancellation(self._echo, *self._pointers)
        if self._pre is not None:
            self._lib.speex_preprocess_run(self._pre, self._pointers[2])
        return self._out.copy()

    def close(self) -> None:
        if self._pre is not None:
            self._lib.speex_preprocess_state_destroy(self._pre)
            self._pre = None
        if self._echo is not None:
            self._lib.speex_echo_state_destroy(self._echo)
            self._echo = None

    def __del__(self) -> None:
        self.close()
