import threading

import numpy as np
import pytest

from dsp.levels import SILENCE_DBFS, FrameRing, LevelMeter, frame_levels, frame_size


def test_frame_sizes_for_20_ms() -> None:
    assert frame_size(8000) == 160
    assert frame_size(16000) == 320


def test_ring_reassembles_odd_chunks_into_frames_in_order() -> None:
    ring = FrameRing(160, capacity_frames=4)
    signal = np.arange(600, dtype=np.int16)
    for start in range(0, 600, 70):
        ring.push(signal[start : start + 70])
    assert len(ring) == 3
    frames = [ring.pop() for _ in range(3)]
    assert np.array_equal(np.concatenate(frames), signal[:480])
    assert ring.pop() is None
    assert ring.buffered_samples == 120


def test_ring_drops_oldest_audio_when_full_and_counts_it() -> None:
    ring = FrameRing(160, capacity_frames=2)
    for value in range(5):
        ring.push(np.full(160, value, dtype=np.int16))
    assert ring.dropped_samples == 3 * 160
    assert ring.pop().tolist() == [3] * 160
    assert ring.pop().tolist() == [4] * 160
    ring.push(np.arange(1000, dtype=np.int16))  # larger than the whole ring
    assert ring.pop().tolist() == list(range(680, 840))


def test_ring_accepts_little_endian_bytes_from_a_media_port() -> None:
    ring = FrameRing(4)
    ring.push(np.array([1, -2, 300, -32768], dtype="<i2").tobytes())
    assert ring.pop().tolist() == [1, -2, 300, -32768]


def test_ring_survives_a_producer_and_a_consumer_thread() -> None:
    ring = FrameRing(160, capacity_frames=1000)
    total = 160 * 500
    signal = (np.arange(total) % 30000).astype(np.int16)
    received: list[np.ndarray] = []

    def produce() -> None:
        for start in range(0, total, 97):
            ring.push(signal[start : start + 97])

    producer = threading.Thread(target=produce)
    producer.start()
    while producer.is_alive() or len(ring):
        frame = ring.pop()
        if frame is not None:
            received.append(frame)
    producer.join()
    assert np.array_equal(np.concatenate(received), signal)


def test_levels_of_a_full_scale_sine_and_a_quieter_one() -> None:
    t = np.arange(160) / 8000
    full = np.round(32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    rms, peak = frame_levels(full)
    assert rms == pytest.approx(0.0, abs=0.05)
    assert peak == pytest.approx(0.0, abs=0.05)
    rms, peak = frame_levels((full * 0.1).astype(np.int16))
    assert rms == pytest.approx(-20.0, abs=0.1)
    assert frame_levels(np.zeros(160, dtype=np.int16)) == (SILENCE_DBFS, SILENCE_DBFS)
    square = np.full(160, 16384, dtype=np.int16)
    rms, peak = frame_levels(square)
    assert rms == pytest.approx(-3.01, abs=0.05)  # crest factor 1: rms dBFS is peak + 3 dB
    assert peak == pytest.approx(-6.02, abs=0.05)


def test_level_meter_smooths_rms_and_holds_peak() -> None:
    meter = LevelMeter(8000, smoothing_ms=100, peak_hold_ms=200)
    loud = np.full(160, 10000, dtype=np.int16)
    quiet = np.full(160, 100, dtype=np.int16)
    rms, _ = meter.update(loud)
    assert rms < frame_levels(loud)[0]  # smoothed, not instant
    for _ in range(50):
        rms, peak = meter.update(loud)
    assert rms == pytest.approx(frame_levels(loud)[0], abs=0.1)
    _, peak = meter.update(quiet)
    assert peak == pytest.approx(frame_levels(loud)[1])  # held
    for _ in range(60):
        rms, peak = meter.update(quiet)
    assert peak == pytest.approx(frame_levels(quiet)[1])  # released after the hold time
    assert rms < -40
