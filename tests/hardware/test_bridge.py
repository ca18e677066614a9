"""The headset's media path in small: volume, the ring tone's cadence, mute, and nothing of the
microphone reaching a call before the call's media is connected."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.clock import SAMPLES_PER_FRAME
from hardware.headset.bridge import AudioBridge
from hardware.headset.jitter import JitterBuffer
from hardware.headset.ringer import ON_SECONDS, PERIOD_SECONDS, RING_HZ, RingTone
from tests.hardware.clocks import dominant_hz, tone


def run(bridge: AudioBridge, frames: int, captured: np.ndarray | None = None) -> np.ndarray:
    out = []
    for index in range(frames):
        bridge.from_call(tone(500.0, index * 160, 160, 8000))
        out.append(bridge.device_block(captured, SAMPLES_PER_FRAME))
    return np.concatenate(out).astype(np.float64)


def test_volume_scales_what_the_agent_hears() -> None:
    loud, quiet = AudioBridge(8000), AudioBridge(8000)
    quiet.gain = 0.25
    ratio = np.std(run(quiet, 100)[-4000:]) / np.std(run(loud, 100)[-4000:])
    assert ratio == pytest.approx(0.25, rel=0.02)


def test_the_ring_tone_is_425_hz_one_second_in_five() -> None:
    ring = RingTone(48000).next(int(48000 * PERIOD_SECONDS))
    on = ring[: int(48000 * ON_SECONDS)]
    assert dominant_hz(on, 48000) == pytest.approx(RING_HZ, abs=2)
    assert not ring[int(48000 * (ON_SECONDS + 0.01)) :].any()


def test_a_ringing_idle_headset_plays_the_ring_and_sends_nothing() -> None:
    bridge = AudioBridge(8000)
    bridge.active, bridge.ringing = False, True
    played = run(bridge, 50, captured=tone(1000.0, 0, 160, 8000))
    assert dominant_hz(played, 8000) == pytest.approx(RING_HZ, abs=8)
    assert bridge.capture.fill == 0 and not bridge.to_call().any()


def test_mute_sends_silence_and_unmute_the_microphone_again() -> None:
    bridge = AudioBridge(8000)
    bridge.start_call()
    for index in range(20):
        bridge.device_block(tone(1000.0, index * 160, 160, 8000), SAMPLES_PER_FRAME)
    bridge.muted = True
    assert not bridge.to_call().any()
    bridge.muted = False
    assert np.abs(bridge.to_call()).max() > 4000


def test_the_jitter_buffer_primes_underruns_and_drops_the_oldest_when_full() -> None:
    buffer = JitterBuffer(target=320, capacity=800)
    buffer.push(np.ones(160))
    assert not buffer.pull(160).any() and buffer.fill == 160  # still priming
    buffer.push(np.arange(160, dtype=np.float64) + 2)
    assert buffer.primed and buffer.pull(160)[0] == 1.0
    assert buffer.pull(320)[:160].tolist() == (np.arange(160) + 2).tolist()
    assert buffer.underruns == 1 and not buffer.primed
    buffer.push(np.zeros(700))
    buffer.push(np.full(200, 7.0))
    assert buffer.overflows == 1 and buffer.fill == 800
    assert buffer.trim(320) == 480 and buffer.fill == 320
    with pytest.raises(ValueError):
        JitterBuffer(target=0, capacity=10)
