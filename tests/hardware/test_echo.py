"""The echo canceller on an open-ear headset: what the earpiece plays comes back into the
microphone, and with ``--echo-canceller`` far less of it reaches the caller."""

from __future__ import annotations

import numpy as np

from dsp.clock import SAMPLES_PER_FRAME
from hardware.headset.bridge import AudioBridge


def residual_dbfs(echo_canceller: bool, seconds: float = 12.0) -> float:
    """Level the caller receives in the last 3 s when the room only echoes the earpiece."""
    rng = np.random.default_rng(3)
    clock = [0.0]
    bridge = AudioBridge(8000, echo_canceller=echo_canceller, clock=lambda: clock[0])
    bridge.start_call()
    delay_blocks = 3  # 60 ms acoustic path
    played: list[np.ndarray] = [np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)] * delay_blocks
    received = []
    far = np.convolve(rng.normal(0, 3000, int(8000 * seconds)), np.ones(4) / 4, "same")
    for index in range(int(seconds * 50)):
        clock[0] = index * 0.02
        frame = far[index * SAMPLES_PER_FRAME : (index + 1) * SAMPLES_PER_FRAME]
        bridge.from_call(frame.astype(np.int16))
        echo = (played[-delay_blocks].astype(np.float64) * 0.3).astype(np.int16)
        played.append(bridge.device_block(echo, SAMPLES_PER_FRAME))
        received.append(bridge.to_call().astype(np.float64))
    tail = np.concatenate(received[-150:])
    return float(20 * np.log10(max(np.sqrt(np.mean(tail**2)), 1e-3) * np.sqrt(2) / 32768))


def test_the_echo_canceller_removes_most_of_the_earpiece_from_the_microphone() -> None:
    without = residual_dbfs(False)
    with_aec = residual_dbfs(True)
    assert without > -40  # the echo is plain to hear without it
    assert with_aec < without - 20, (without, with_aec)
