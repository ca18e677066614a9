from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from dsp.dtmf import DIGITS, DtmfDetector, DtmfSettings, _goertzel, dtmf_signal, tone_pair
from telephony.testing.signals import PASSAGES, espeak, recordings


def detect(signal: np.ndarray, clock_rate: int = 8000, **settings) -> str:
    return DtmfDetector(clock_rate, DtmfSettings(**settings)).digits(signal)


def test_goertzel_equals_the_dft_bin() -> None:
    x = np.random.default_rng(0).normal(size=300)
    window = np.hanning(160)
    omega = 2 * np.pi * 941 / 8000
    expected = np.sum(x[20:180] * window * np.exp(-1j * omega * np.arange(160)))
    assert _goertzel(x, 20, window, omega) == pytest.approx(expected)


def test_tone_pairs_follow_the_keypad() -> None:
    assert tone_pair("1") == (697.0, 1209.0)
    assert tone_pair("0") == (941.0, 1336.0)
    assert tone_pair("d") == (941.0, 1633.0)
    with pytest.raises(ValueError, match="not a DTMF digit"):
        tone_pair("x")


@pytest.mark.parametrize("clock_rate", [8000, 16000])
def test_all_sixteen_digits_at_nominal_frequencies(clock_rate: int) -> None:
    assert detect(dtmf_signal(DIGITS, clock_rate), clock_rate) == DIGITS


@pytest.mark.parametrize("offset", [-0.015, -0.01, 0.01, 0.015])
def test_accepts_frequency_deviation_within_1_5_percent(offset: float) -> None:
    both = dtmf_signal(DIGITS, row_offset=offset, column_offset=offset)
    rows = dtmf_signal(DIGITS, row_offset=offset, column_offset=-offset)
    assert detect(both) == DIGITS
    assert detect(rows) == DIGITS


@pytest.mark.parametrize("offset", [-0.06, -0.035, 0.035, 0.045, 0.06])
def test_rejects_frequency_deviation_beyond_3_5_percent(offset: float) -> None:
    assert detect(dtmf_signal(DIGITS, row_offset=offset)) == ""
    assert detect(dtmf_signal(DIGITS, column_offset=offset)) == ""


def test_twist_limits_normal_and_reverse() -> None:
    # normal twist: the low (row) tone louder, up to 8 dB; reverse: the high tone, up to 4 dB
    assert detect(dtmf_signal(DIGITS, twist_db=-7.0)) == DIGITS
    assert detect(dtmf_signal(DIGITS, twist_db=3.0)) == DIGITS
    assert detect(dtmf_signal(DIGITS, twist_db=-10.0)) == ""
    assert detect(dtmf_signal(DIGITS, twist_db=6.0)) == ""


def test_single_tones_and_weak_tones_are_not_digits() -> None:
    t = np.arange(8000) / 8000
    single = (8000 * np.sin(2 * np.pi * 770 * t)).astype(np.int16)
    assert detect(single) == ""
    assert detect(dtmf_signal("159", level_dbfs=-30)) == "159"
    assert detect(dtmf_signal("159", level_dbfs=-45)) == ""


@pytest.mark.parametrize("lead_ms", range(10))
def test_40_ms_tones_with_40_ms_pauses_are_all_detected_at_any_alignment(lead_ms: int) -> None:
    signal = dtmf_signal("1155#", tone_ms=40, pause_ms=40, lead_ms=lead_ms)
    assert detect(signal) == "1155#"


@pytest.mark.parametrize("lead_ms", range(10))
def test_tones_of_25_ms_or_less_are_rejected(lead_ms: int) -> None:
    assert detect(dtmf_signal("5", tone_ms=25, lead_ms=lead_ms)) == ""
    assert detect(dtmf_signal("5", tone_ms=15, lead_ms=lead_ms)) == ""


def test_a_short_drop_out_does_not_split_a_key_press() -> None:
    tone = dtmf_signal("7", tone_ms=60, pause_ms=0)
    signal = np.concatenate([tone, np.zeros(40, dtype=np.int16), tone, np.zeros(800, np.int16)])
    assert detect(signal) == "7"


@pytest.mark.parametrize("digit", "0123456789*#")
def test_a_jitter_buffer_dropping_or_repeating_part_of_a_tone_does_not_split_the_key(
    digit: str,
) -> None:
    """An adaptive jitter buffer drops or repeats samples mid-tone: the tone's phase steps and
    the two windows over the step fail the frequency test; once (5 % loss, 30 ms jitter, seed
    17) that ended the press and began it again, and a 9-key account number came out as 10."""
    tone = dtmf_signal(digit, tone_ms=200, pause_ms=0)
    tail = np.zeros(800, np.int16)
    for at in range(400, 800, 9):
        for step in (13, 37, 61, 80, 111, 160):
            dropped = np.concatenate([tone[:at], tone[at + step :], tail])
            repeated = np.concatenate([tone[:at], tone[at - step :], tail])
            assert (detect(dropped), detect(repeated)) == (digit, digit), (at, step)


def test_events_carry_press_and_release_times() -> None:
    signal = dtmf_signal("42", tone_ms=100, pause_ms=200, lead_ms=300)
    detector = DtmfDetector()
    events = [e for i in range(0, len(signal), 160) for e in detector.process(signal[i : i + 160])]
    assert [(e.digit, e.kind) for e in events] == [("4", "start"), ("4", "end"), ("2", "start"),
                                                   ("2", "end")]  # fmt: skip
    assert events[0].at == pytest.approx(0.300, abs=0.006)
    assert events[1].at == pytest.approx(0.400, abs=0.006)
    assert events[1].duration == pytest.approx(0.100, abs=0.012)
    assert events[2].at == pytest.approx(0.600, abs=0.006)


def test_frame_size_does_not_change_the_result() -> None:
    signal = dtmf_signal("0815", tone_ms=50, pause_ms=50, lead_ms=7)
    for size in (37, 160, 333):
        detector = DtmfDetector()
        frames = [signal[i : i + size] for i in range(0, len(signal), size)]
        assert detector.digits(frames) == "0815"


def test_detects_digits_in_line_noise() -> None:
    rng = np.random.default_rng(3)
    clean = dtmf_signal(DIGITS, level_dbfs=-20).astype(np.float64)
    tone_rms = np.sqrt(2 * (32768 * 10 ** (-20 / 20)) ** 2 / 2)
    noise = rng.normal(0, tone_rms / 10 ** (15 / 20), clean.shape)  # 15 dB SNR
    assert detect(np.clip(clean + noise, -32768, 32767).astype(np.int16)) == DIGITS


@pytest.mark.parametrize(
    ("locale", "voice", "pitch"),
    [("en", "en-us", 50), ("en", "en-us+f3", 70), ("it", "it", 40), ("ko", "ko", 60)],
)
def test_no_talk_off_on_speech(locale: str, voice: str, pitch: int) -> None:
    speech = espeak(PASSAGES[locale], voice=voice, pitch=pitch)
    assert len(speech) > 8000 * 12
    for gain in (1.0, 4.0):  # normal and clipped-loud speech
        loud = np.clip(speech * gain, -32768, 32767).astype(np.int16)
        assert detect(loud) == ""


def test_digits_are_found_between_words() -> None:
    speech = espeak(PASSAGES["en"], voice="en-us")[: 8000 * 4]
    keyed = dtmf_signal("3#", tone_ms=70, pause_ms=70, level_dbfs=-12)
    assert detect(np.concatenate([speech, keyed, speech])) == "3#"


def test_no_talk_off_on_real_recordings() -> None:
    speech = np.concatenate(recordings(8000))  # pocketsphinx-testdata, about 35 s
    for gain in (1.0, 4.0):
        assert detect(np.clip(speech * gain, -32768, 32767).astype(np.int16)) == ""


def test_detectors_in_parallel_threads_match_sequential_runs() -> None:
    # kernels run without the GIL: several legs at once must not disturb each other
    signals = [dtmf_signal(digits, lead_ms=lead) for digits, lead in
               (("123", 3), ("#0*", 7), ("ABCD", 0), ("9876", 5))]  # fmt: skip
    expected = [detect(s) for s in signals]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(detect, signals)) == expected
    assert expected == ["123", "#0*", "ABCD", "9876"]
