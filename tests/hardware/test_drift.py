"""Drift between the sound card's clock and pjmedia's, in virtual time: an hour-long call with
clocks 100 ppm apart neither grows latency nor underruns; without the controller the same call
drifts out of its buffer within minutes; late threads (a loaded machine) do not underrun."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.headset.bridge import (
    LATENESS_HOLD_SECONDS,
    LATENESS_STEP_MS,
    MAX_LATENESS_MS,
    TARGET_MS,
)
from tests.hardware.clocks import TwoClockCall, dominant_hz


@pytest.mark.parametrize(("ppm", "seconds"), [(100.0, 1800.0), (-100.0, 600.0)])
def test_a_call_with_clocks_100_ppm_apart_keeps_latency_and_never_underruns(
    ppm: float, seconds: float
) -> None:
    """Half an hour with the card fast (180 ms of drift), ten minutes with it slow (CI time)."""
    call = TwoClockCall(device_ppm=ppm)
    call.run(60.0)  # the first minute: buffers prime and the loop settles
    settled = call.bridge.stats()
    call.run(seconds)
    final = call.bridge.stats()
    assert final.playback_underruns == settled.playback_underruns
    assert final.capture_underruns == settled.capture_underruns
    assert final.playback_overflows == final.capture_overflows == 0
    assert final.playback_trims == final.capture_trims == 0  # no audio was dropped
    depths = [(s.playback_ms, s.capture_ms) for s in call.samples[1:]]
    for playback, capture in depths:  # every minute of the hour
        assert abs(playback - TARGET_MS) < 5.0 and abs(capture - TARGET_MS) < 5.0, depths
    # the controller found the clocks' disagreement (sign: the card is fast or slow)
    assert final.playback_correction == pytest.approx(-ppm * 1e-6, abs=30e-6)
    assert final.capture_correction == pytest.approx(ppm * 1e-6, abs=30e-6)


def test_without_drift_compensation_the_same_call_loses_its_buffer() -> None:
    call = TwoClockCall(device_ppm=-300.0, max_correction=0.0)
    call.run(600.0, sample_every=10.0)
    final = call.bridge.stats()
    # the card drains 300 ppm slower than the call fills: 180 ms in 10 minutes, so audio is
    # dropped towards the agent (trimmed backlog) and the call side runs dry (underruns)
    assert final.playback_trims + final.playback_overflows > 0
    assert final.capture_underruns > 0


def test_audio_passes_both_ways_through_the_drifting_clocks() -> None:
    call = TwoClockCall(device_ppm=100.0)
    call.run(30.0, keep_audio=2.0)
    sent = np.concatenate(call.sent)[-8000:]  # the last second the call received
    heard = np.concatenate(call.heard)[-48000:]  # the last second the card played
    assert dominant_hz(sent, 8000) == pytest.approx(1000, abs=2)
    assert dominant_hz(heard, 48000) == pytest.approx(440, abs=2)
    assert 20 * np.log10(np.std(sent) * np.sqrt(2) / 8000) == pytest.approx(0, abs=1.0)
    call.bridge.muted = True
    assert not call.bridge.to_call().any()


def test_the_call_side_keeps_a_margin_at_the_buffer_s_lowest() -> None:
    """The capture buffer's depth is held at its lowest point (before the card's period
    arrives), as the playback buffer's is: measured at its peak, the trough sat at zero and
    the headset underran whenever pjmedia's tick came a few ms after the card's period."""
    call = TwoClockCall(device_ppm=100.0, jitter_ms=2.0)
    call.run(20.0)
    call.lowest_capture = call.bridge.capacity
    call.run(60.0)
    assert call.lowest_capture >= 15 * 8  # samples: at least 15 ms left for a late thread


@pytest.mark.parametrize("seed", [3, 4])
def test_late_threads_on_a_loaded_machine_never_underrun(seed: int) -> None:
    """Both threads come up to 25 ms late (JACK without real-time priority next to busy
    processes): two minutes of call without an underrun once primed."""
    call = TwoClockCall(device_ppm=100.0, jitter_ms=25.0, seed=seed)
    call.run(20.0)
    settled = call.bridge.stats()
    call.run(120.0)
    final = call.bridge.stats()
    assert final.playback_underruns == settled.playback_underruns
    assert final.capture_underruns == settled.capture_underruns


def test_sound_card_periods_up_to_60_ms_late_deepen_the_hold_which_then_never_underruns() -> None:
    """JACK's dummy driver on a loaded machine (no real-time priority) delivers some periods
    up to 60 ms late: the lateness guard deepens both buffers (in steps, at once) and from then
    on neither underruns, overflows nor trims."""
    call = TwoClockCall(device_ppm=100.0, jitter_ms=60.0, seed=3)
    call.run(20.0)
    settled = call.bridge.stats()
    call.run(60.0)
    final = call.bridge.stats()
    assert TARGET_MS < final.target_ms <= TARGET_MS + MAX_LATENESS_MS
    assert final.capture_underruns == settled.capture_underruns
    assert final.playback_underruns == settled.playback_underruns
    assert final.playback_overflows == final.capture_overflows == 0
    assert final.playback_trims == settled.playback_trims
    assert final.capture_trims == settled.capture_trims


def test_the_extra_depth_is_given_back_once_periods_come_on_time() -> None:
    call = TwoClockCall(device_ppm=0.0, jitter_ms=60.0, seed=5)
    call.run(10.0)
    deep = call.bridge.stats().target_ms
    assert deep > TARGET_MS
    call.jitter_ms = 1.0
    call.run(LATENESS_HOLD_SECONDS * (deep - TARGET_MS) / LATENESS_STEP_MS + 40.0)
    assert call.bridge.stats().target_ms == TARGET_MS


def test_late_periods_and_their_catch_up_bursts_keep_the_level_of_the_microphone() -> None:
    """The clipped recordings of the live test under load were the codec (speex), not the
    bridge: through periods up to 60 ms late, their bursts, stretches and trims, what the call
    receives of the room's -12 dBFS tone stays at -12 dBFS (no gain, no wrap-around)."""
    call = TwoClockCall(device_ppm=100.0, jitter_ms=60.0, seed=3)
    call.run(30.0, keep_audio=25.0)
    sent = np.concatenate(call.sent).astype(np.float64)
    assert call.bridge.stats().target_ms > TARGET_MS  # the late periods did deepen the hold
    assert np.abs(sent).max() <= 8000 * 1.02
    playing = sent[np.abs(sent) > 0]
    assert 20 * np.log10(np.std(playing) * np.sqrt(2) / 8000) == pytest.approx(0, abs=0.5)
