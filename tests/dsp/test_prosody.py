import numpy as np
import pytest

from dsp.prosody import ProsodyTracker, analyse_utterance, compare, pitch_track, syllable_nuclei
from telephony.testing.signals import espeak

CALM = [
    "Hello, I am calling about my account, I think there is a small mistake on the last bill.",
    "I would like to talk to somebody about my bill, it is much higher than last month.",
    "My account number is seven three nine one, and I moved house in the spring.",
]
UPSET = "This is the third time I call and nobody has fixed my bill, I want it solved today."
UPSET_VOICE = {"pitch": 80, "amplitude": 180, "words_per_minute": 200}


def harmonic_complex(f0: float, clock_rate: int, seconds: float = 1.0) -> np.ndarray:
    """Telephone-band periodic signal whose fundamental and second harmonic are missing."""
    t = np.arange(int(clock_rate * seconds)) / clock_rate
    harmonics = range(3, int(3400 / f0) + 1)
    return 3000 * sum(np.sin(2 * np.pi * f0 * h * t + h) / h for h in harmonics)


@pytest.mark.parametrize("clock_rate", [8000, 16000])
@pytest.mark.parametrize("f0", [85.0, 120.0, 210.0, 330.0])
def test_pitch_of_a_missing_fundamental_is_found_within_one_percent(f0: float, clock_rate: int):
    track, level = pitch_track(harmonic_complex(f0, clock_rate), clock_rate)
    assert len(track) >= 80  # one value each 10 ms
    assert (track > 0).mean() > 0.95
    assert np.median(track) == pytest.approx(f0, rel=0.01)
    assert np.all(level > -30)


def test_noise_and_silence_are_unvoiced() -> None:
    noise = np.random.default_rng(0).normal(0, 3000, 8000)
    assert (pitch_track(noise, 8000)[0] > 0).mean() < 0.05
    track, level = pitch_track(np.zeros(8000), 8000)
    assert not track.any()
    assert np.all(level == -120.0)


def test_syllable_nuclei_of_a_vowel_pulsing_four_times_a_second() -> None:
    vowel = harmonic_complex(140.0, 8000, seconds=3.0)
    t = np.arange(len(vowel)) / 8000
    envelope = 0.05 + np.maximum(np.sin(2 * np.pi * 4 * t), 0) ** 2
    f0, level = pitch_track(vowel * envelope, 8000)
    assert syllable_nuclei(level, f0 > 0) in (11, 12, 13)
    assert syllable_nuclei(level, np.zeros(len(level), dtype=bool)) == 0  # unvoiced: none


def test_espeak_raised_voice_reads_higher_louder_and_faster() -> None:
    calm = analyse_utterance(espeak(UPSET), 8000)
    upset = analyse_utterance(espeak(UPSET, **UPSET_VOICE), 8000)
    change = compare(upset, calm)
    assert 80 < calm.f0_median_hz < 140  # espeak's default male voice
    assert change.pitch_semitones > 3
    assert change.level_db > 4
    assert change.rate_ratio > 1.1
    assert upset.speech_seconds < calm.speech_seconds  # same words, said faster


def test_tracker_learns_a_baseline_then_flags_the_upset_utterance_only() -> None:
    tracker = ProsodyTracker(8000, baseline_seconds=3.0)
    reports = []
    for utterance in [espeak(CALM[0]), espeak(CALM[1]), espeak(UPSET, **UPSET_VOICE),
                      espeak(CALM[2])]:  # fmt: skip
        for i in range(0, len(utterance), 160):
            tracker.add_frame(utterance[i : i + 160])
        reports.append(tracker.end_utterance())
    assert reports[0].change is None  # the first utterance is the baseline
    assert tracker.baseline is not None and tracker.baseline.speech_seconds >= 3.0
    calm, upset, calm_again = reports[1].change, reports[2].change, reports[3].change
    assert abs(calm.pitch_semitones) < 1.5 and abs(calm.level_db) < 2
    assert upset.pitch_semitones > 3 and upset.level_db > 4 and upset.rate_ratio > 1.1
    assert upset.agitation > 0.8
    assert calm.agitation < 0.35 and calm_again.agitation < 0.35
    assert tracker.end_utterance() is None  # nothing fed since
