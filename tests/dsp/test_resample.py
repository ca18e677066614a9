import numpy as np
import pytest

from dsp.resample import (
    HALF_BAND_TAPS,
    RATIO_HALF_WIDTH,
    RatioResampler,
    Resampler,
    half_band_lowpass,
)

AMPLITUDE = 10000.0


def run_framed(resampler: Resampler, signal: np.ndarray, frame: int) -> np.ndarray:
    pieces = [resampler.process(signal[i : i + frame]) for i in range(0, len(signal), frame)]
    return np.concatenate(pieces)


def tone(frequency: float, rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return AMPLITUDE * np.sin(2 * np.pi * frequency * t)


def gain_db(output: np.ndarray, frequency: float, rate: int) -> float:
    """Amplitude of *frequency* in the settled second half of *output*, relative to the input."""
    settled = output[len(output) // 2 :]
    t = np.arange(len(settled)) / rate
    basis = np.exp(-2j * np.pi * frequency * t)
    amplitude = 2 * abs(np.dot(settled, basis)) / len(settled)
    return 20 * np.log10(max(amplitude, 1e-9) / AMPLITUDE)


def residual_db(output: np.ndarray) -> float:
    settled = output[len(output) // 2 :]
    rms = np.sqrt(np.mean(settled**2))
    return 20 * np.log10(max(rms * np.sqrt(2), 1e-9) / AMPLITUDE)


def test_filter_is_a_symmetric_half_band_with_unit_dc_gain() -> None:
    h = half_band_lowpass()
    centre = (HALF_BAND_TAPS - 1) // 2
    assert np.allclose(h, h[::-1])
    assert h.sum() == pytest.approx(1.0)
    assert h[centre] == pytest.approx(0.5, abs=1e-3)
    assert np.allclose(h[centre + 2 :: 2], 0.0, atol=1e-12)


@pytest.mark.parametrize(("from_rate", "to_rate"), [(8000, 16000), (16000, 8000)])
def test_passband_ripple_on_a_sweep_is_under_a_tenth_of_a_db(from_rate: int, to_rate: int) -> None:
    gains = []
    for frequency in np.arange(100, 3401, 100):
        resampler = Resampler(from_rate, to_rate)
        out = run_framed(resampler, tone(frequency, from_rate), from_rate // 50)
        gains.append(gain_db(out, frequency, to_rate))
    assert max(gains) - min(gains) < 0.1
    assert max(abs(g) for g in gains) < 0.1


def test_upsampling_images_are_attenuated_by_60_db() -> None:
    # a tone f at 8 kHz leaves an image at 8000 - f after zero stuffing
    for frequency in np.arange(200, 3401, 200):
        resampler = Resampler(8000, 16000)
        out = run_framed(resampler, tone(frequency, 8000), 160)
        assert gain_db(out, 8000 - frequency, 16000) < -60, frequency


def test_downsampling_stopband_is_attenuated_by_60_db() -> None:
    for frequency in np.arange(4600, 7801, 200):
        resampler = Resampler(16000, 8000)
        out = run_framed(resampler, tone(frequency, 16000), 320)
        assert residual_db(out) < -60, frequency


def test_state_carries_across_frames_so_framing_does_not_matter() -> None:
    signal = np.random.default_rng(1).normal(0, 3000, 16000).astype(np.int16)
    whole = Resampler(16000, 8000).process(signal)
    framed = run_framed(Resampler(16000, 8000), signal, 320)
    odd = run_framed(Resampler(16000, 8000), signal, 64)
    assert np.array_equal(whole, framed)
    assert np.array_equal(whole, odd)
    up_whole = Resampler(8000, 16000).process(signal[:8000].astype(np.float64))
    up_framed = run_framed(Resampler(8000, 16000), signal[:8000].astype(np.float64), 160)
    assert np.allclose(up_whole, up_framed)


def test_round_trip_keeps_telephone_band_speech_like_signal() -> None:
    rng = np.random.default_rng(2)
    # band-limited signal: sum of tones inside 300-3400 Hz
    t = np.arange(8000) / 8000
    signal = sum(
        1500 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in (310, 770, 1500, 3100)
    )
    up, down = Resampler(8000, 16000), Resampler(16000, 8000)
    out = run_framed(down, run_framed(up, signal, 160), 320)
    delay = round(up.delay_samples / 2 + down.delay_samples)
    error = out[delay + 400 :] - signal[400 : len(signal) - delay]
    snr = 10 * np.log10(np.mean(signal[400:] ** 2) / np.mean(error**2))
    assert snr > 40


def test_int16_frames_come_back_int16_and_saturate() -> None:
    loud = np.full(320, 32767, dtype=np.int16)
    out = run_framed(Resampler(16000, 8000), np.tile(loud, 5), 320)
    assert out.dtype == np.int16
    assert out[-10:].min() >= 32700


def test_rejects_unsupported_rates_and_odd_frames() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        Resampler(8000, 48000)
    with pytest.raises(ValueError, match="even"):
        Resampler(16000, 8000).process(np.zeros(321))


@pytest.mark.parametrize("ratio", [6.0, 1 / 6, 2.0, 0.5, 44100 / 8000, 8000 / 44100])
def test_ratio_resampler_converts_a_tone_cleanly_between_any_rates(ratio: float) -> None:
    rate_in = 8000 if ratio >= 1 else 48000
    rate_out = rate_in * ratio
    x = 10000 * np.sin(2 * np.pi * 440 * np.arange(rate_in) / rate_in)
    resampler = RatioResampler(ratio)
    y = np.concatenate([resampler.process(x[i : i + 160]) for i in range(0, len(x), 160)])
    assert abs(len(y) - len(x) * ratio) < 2 * RATIO_HALF_WIDTH / min(ratio, 1) * ratio + 2
    ideal = 10000 * np.sin(2 * np.pi * 440 * np.arange(len(y)) / rate_out)
    middle = slice(len(y) // 4, 3 * len(y) // 4)
    error = y[middle] - ideal[middle]
    assert 10 * np.log10(np.mean(ideal[middle] ** 2) / np.mean(error**2)) > 80


def test_ratio_resampler_keeps_the_telephone_band_and_stops_what_would_fold() -> None:
    def gain(freq: float) -> float:
        x = 10000 * np.sin(2 * np.pi * freq * np.arange(48000) / 48000)
        resampler = RatioResampler(1 / 6)
        y = np.concatenate([resampler.process(x[i : i + 960]) for i in range(0, 48000, 960)])
        return float(np.std(y[2000:6000]) * np.sqrt(2) / 10000)

    assert gain(300) > 0.99 and gain(3000) > 0.99 and gain(3400) > 0.85
    assert gain(4400) < 0.01 and gain(6000) < 0.01


def test_a_drift_correction_changes_how_many_samples_come_out() -> None:
    plain, corrected = RatioResampler(6.0), RatioResampler(6.0)
    corrected.set_correction(1e-3)  # 1000 ppm faster
    x = np.zeros(160)
    made_plain = sum(len(plain.process(x)) for _ in range(500))  # 10 s of 8 kHz
    made_corrected = sum(len(corrected.process(x)) for _ in range(500))
    assert made_corrected - made_plain == pytest.approx(480000 * 1e-3, abs=2)
    with pytest.raises(ValueError, match="positive"):
        RatioResampler(0.0)
