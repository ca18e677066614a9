import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dsp.aec import EchoCanceller, EchoCancellerBank
from dsp.echo_paths import EchoScenario, build_scenario, echo_path

ROOT = Path(__file__).resolve().parents[2]
FAR_TEXT = (
    "Hello, thank you for calling. How are you today? Please say or key in your account "
    "number, or press zero to reach a person."
)
NEAR_TEXT = "I am fine, thanks. My account number is four five six seven, I would like a person."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(far, near) espeak-ng speech per clock rate; near is a different sentence and voice level."""
    from ivr.prompts import speech_samples

    cache = tmp_path_factory.mktemp("aec-speech")
    return {
        rate: (
            speech_samples(FAR_TEXT, "en", cache, rate),
            speech_samples(NEAR_TEXT, "en", cache, rate),
        )
        for rate in (8000, 16000)
    }


def run(canceller: EchoCanceller, scenario: EchoScenario) -> np.ndarray:
    frame = canceller.frame
    usable = len(scenario.far) // frame * frame
    frames = [
        canceller.process(scenario.near[i : i + frame], scenario.far[i : i + frame])
        for i in range(0, usable, frame)
    ]
    return np.concatenate(frames)


def seconds(scenario: EchoScenario, start: float, stop: float | None = None) -> slice:
    rate = scenario.clock_rate
    return slice(int(start * rate), None if stop is None else int(stop * rate))


def erle_db(scenario: EchoScenario, out: np.ndarray, span: slice) -> float:
    """Echo return loss enhancement: echo power over what is left of it in the output."""
    residual = out[span] - scenario.near_speech[: len(out)][span] - scenario.noise[: len(out)][span]
    return float(10 * np.log10(np.sum(scenario.echo[span] ** 2) / np.sum(residual**2)))


def attenuation_db(scenario: EchoScenario, out: np.ndarray, span: slice) -> float:
    """How much quieter the output is than what came back (echo and noise)."""
    returned = scenario.near[span].astype(np.float64)
    return float(10 * np.log10(np.sum(returned**2) / np.sum(out[span].astype(np.float64) ** 2)))


def near_snr_db(scenario: EchoScenario, out: np.ndarray, span: slice) -> float:
    """How faithfully the caller's speech comes through: its power over everything else."""
    clean = scenario.near_speech[: len(out)][span]
    return float(10 * np.log10(np.sum(clean**2) / np.sum((out[span] - clean) ** 2)))


def far_only(speech: dict, rate: int = 8000, **path: float) -> EchoScenario:
    far, _ = speech[rate]
    return build_scenario(far, [echo_path(rate, **path)], clock_rate=rate)


def double_talk(speech: dict, start_s: float = 3.0) -> EchoScenario:
    """Far-end prompt throughout; the caller talks over it from *start_s*, at the echo's level."""
    far, near = speech[8000]
    talk = np.zeros(len(far))
    begin = int(start_s * 8000)
    piece = near[: len(far) - begin].astype(np.float64)
    talk[begin : begin + len(piece)] = 0.5 * piece
    return build_scenario(far, [echo_path(8000, delay_ms=24, erl_db=8, seed=4)], talk)


@pytest.mark.parametrize(
    ("delay_ms", "erl_db", "noise_dbfs", "minimum_erle"),
    [(0.0, 6.0, -70.0, 30.0), (40.0, 12.0, -60.0, 22.0), (64.0, 20.0, -65.0, 18.0)],
)
def test_converges_on_far_end_speech(
    speech: dict, delay_ms: float, erl_db: float, noise_dbfs: float, minimum_erle: float
) -> None:
    far, _ = speech[8000]
    path = echo_path(8000, delay_ms=delay_ms, erl_db=erl_db, seed=int(delay_ms))
    scenario = build_scenario(far, [path], noise_dbfs=noise_dbfs)
    out = run(EchoCanceller(suppress=False), scenario)
    assert erle_db(scenario, out, seconds(scenario, 4.0)) > minimum_erle


def test_converges_on_real_recordings() -> None:
    from telephony.testing.signals import recordings

    far = np.concatenate(recordings(8000))[: 8 * 8000]
    scenario = build_scenario(far, [echo_path(8000, delay_ms=32, erl_db=10, seed=11)])
    out = run(EchoCanceller(suppress=False), scenario)
    assert erle_db(scenario, out, seconds(scenario, 4.0)) > 20.0


def test_estimates_the_bulk_delay(speech: dict) -> None:
    scenario = far_only(speech, delay_ms=48.0, erl_db=10.0, seed=7)
    canceller = EchoCanceller(suppress=False)
    run(canceller, scenario)
    # the strongest tap sits just after the bulk delay (the hybrid's band-pass takes ~2 ms)
    assert 48.0 <= canceller.delay_ms <= 52.0
    assert canceller.delay_samples == round(canceller.delay_ms * 8)


def test_does_not_diverge_in_double_talk_and_keeps_the_caller(speech: dict) -> None:
    scenario = double_talk(speech)
    out = run(EchoCanceller(suppress=False), scenario)
    talking = seconds(scenario, 3.5)
    assert erle_db(scenario, out, talking) > 18.0
    assert near_snr_db(scenario, out, talking) > 12.0


def test_suppressor_removes_more_echo_and_keeps_most_of_the_caller(speech: dict) -> None:
    scenario = double_talk(speech, start_s=4.5)
    plain = run(EchoCanceller(suppress=False), scenario)
    suppressed = run(EchoCanceller(suppress=True), scenario)
    far_end_alone = seconds(scenario, 2.0, 4.5)
    assert (
        erle_db(scenario, suppressed, far_end_alone) > erle_db(scenario, plain, far_end_alone) + 6
    )
    assert near_snr_db(scenario, suppressed, seconds(scenario, 5.0)) > 6.0


def test_reconverges_after_the_echo_path_changes(speech: dict) -> None:
    far, _ = speech[8000]
    twice = np.concatenate([far, far])
    first = echo_path(8000, delay_ms=16, erl_db=10, seed=1)
    second = echo_path(8000, delay_ms=56, erl_db=8, seed=2)
    scenario = build_scenario(twice, [first, second])
    out = run(EchoCanceller(suppress=False), scenario)
    change_s = len(far) / 8000
    assert erle_db(scenario, out, seconds(scenario, change_s - 2, change_s)) > 20.0
    assert erle_db(scenario, out, seconds(scenario, change_s + 4)) > 15.0


def test_converges_at_16_khz(speech: dict) -> None:
    scenario = far_only(speech, 16000, delay_ms=20.0, erl_db=10.0, seed=3)
    canceller = EchoCanceller(clock_rate=16000, frame=320, suppress=False)
    assert canceller.tail_taps >= 2048
    out = run(canceller, scenario)
    assert erle_db(scenario, out, seconds(scenario, 4.0)) > 18.0


def test_bank_equals_one_canceller_per_channel(speech: dict) -> None:
    far, _ = speech[8000]
    shifted = np.roll(far, len(far) // 3)  # its far end talks and pauses at other times
    scenarios = [
        far_only(speech, delay_ms=8.0, erl_db=6.0, seed=1),
        double_talk(speech),
        build_scenario(shifted, [echo_path(8000, delay_ms=60.0, erl_db=18.0, seed=2)]),
    ]
    singles = [run(EchoCanceller(), scenario) for scenario in scenarios]
    bank = EchoCancellerBank(len(scenarios))
    frames = len(singles[0]) // 160
    near = np.stack([s.near[: frames * 160] for s in scenarios]).reshape(3, frames, 160)
    far = np.stack([s.far[: frames * 160] for s in scenarios]).reshape(3, frames, 160)
    together = np.concatenate([bank.process(near[:, i], far[:, i]) for i in range(frames)], axis=1)
    for channel, single in enumerate(singles):
        np.testing.assert_array_equal(together[channel], single)


def test_rejects_frames_of_the_wrong_shape() -> None:
    bank = EchoCancellerBank(2)
    with pytest.raises(ValueError, match=r"near and far must have shape \(2, 160\)"):
        bank.process(np.zeros((2, 80), np.int16), np.zeros((2, 80), np.int16))


def test_importing_compiles_nothing() -> None:
    probe = (
        "import json, dsp.aec as a;"
        "print(json.dumps({k: len(v.signatures) for k, v in vars(a).items()"
        " if hasattr(v, 'signatures')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    kernels = json.loads(result.stdout)
    assert "_cancel_bank" in kernels
    assert set(kernels.values()) == {0}


def g168_call(model: int = 2, seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(far, near): G.168's composite source signal at its table level through Annex D path
    *model* at 6 dB ERL, no near-end speech, after 200 ms of silence (as spandsp's echo tests
    build it)."""
    from dsp.echo_paths import g168_path
    from telephony.testing.signals import composite_source

    css = np.round(composite_source("c1", seconds, -14.2))
    far = np.concatenate([np.zeros(1600), css]).astype(np.int16)
    echo = np.convolve(far.astype(np.float64), g168_path(model, 6.0))[: len(far)]
    return far, np.round(echo).astype(np.int16)


def process(canceller: EchoCanceller, near: np.ndarray, far: np.ndarray) -> np.ndarray:
    usable = len(far) // 160 * 160
    return np.concatenate(
        [canceller.process(near[i : i + 160], far[i : i + 160]) for i in range(0, usable, 160)]
    ).astype(np.float64)


@pytest.mark.parametrize("model", [3, 4, 9])
def test_suppressor_removes_what_is_left_while_the_far_end_talks_alone(model: int) -> None:
    # G.168 test 2A: with the NLP on, the returned echo stays at or below -65 dBm0 from 1 s on
    from telephony.testing.signals import level_dbm0

    far, near = g168_call(model)
    returned = level_dbm0(process(EchoCanceller(suppress=True), near, far))
    after = slice(1600 + 8000, None)
    assert returned[after].max() <= -65.0
    linear = level_dbm0(process(EchoCanceller(suppress=False), near, far))
    assert linear[after].max() > returned[after].max() + 3  # the suppressor did it


@pytest.mark.parametrize("model", [3, 4, 9])
def test_the_linear_filter_alone_keeps_the_echo_under_65_dbm0_while_the_far_end_talks(
    model: int,
) -> None:
    # G.168 test 2B(a) (NLP off) over 30 s after 10 s of convergence: measured -68.5 to -68.8
    # dBm0; -64.1 to -65.1 before the step floor rose while the far end talks alone
    from telephony.testing.signals import level_dbm0

    far, near = g168_call(model, 40.0)
    residual = level_dbm0(process(EchoCanceller(suppress=False), near, far))
    assert residual[1600 + 10 * 8000 :].max() <= -65.0


@pytest.mark.parametrize(("model", "other"), [(2, 3), (7, 8)])
def test_an_abrupt_path_change_is_relearnt_within_a_second_or_two(model: int, other: int) -> None:
    # G.168 test 2A(b) at 9 dB ERL: the returned echo after an abrupt change of Annex D path
    from dsp.echo_paths import g168_path
    from telephony.testing.signals import composite_source, level_dbm0

    far = np.concatenate([np.zeros(1600), np.round(composite_source("c1", 12.0, -14.2))])
    cut = 1600 + 6 * 8000
    first = np.convolve(far, g168_path(model, 9.0))[:cut]
    second = np.convolve(far, g168_path(other, 9.0))[cut : len(far)]
    near = np.round(np.concatenate([first, second])).astype(np.int16)
    returned = level_dbm0(process(EchoCanceller(suppress=True), near, far.astype(np.int16)))
    assert returned[cut + 8000 : cut + 16000].max() <= -60.0
    assert returned[cut + 16000 :].max() <= -70.0


def test_a_frozen_filter_cancels_what_it_learnt_and_learns_nothing() -> None:
    far, near = g168_call(seconds=8.0)
    canceller = EchoCanceller(suppress=False)
    process(canceller, near[: 5 * 8000], far[: 5 * 8000])  # converged
    learnt = canceller.impulse_response().copy()
    canceller.adapt = False
    out = process(canceller, near[5 * 8000 :], far[5 * 8000 :])
    np.testing.assert_array_equal(canceller.impulse_response(), learnt)
    echo = near[5 * 8000 :].astype(np.float64)[: len(out)]
    assert 10 * np.log10(np.sum(echo**2) / np.sum(out**2)) > 30.0
    canceller.adapt = True
    process(canceller, near[:8000], far[:8000])
    assert not np.array_equal(canceller.impulse_response(), learnt)


def test_converges_on_a_tail_of_128_ms(speech: dict) -> None:
    far, _ = speech[8000]
    path = echo_path(8000, delay_ms=112, dispersion_ms=16, erl_db=10, seed=12)
    assert len(path) > 0.125 * 8000
    scenario = build_scenario(far, [path])
    canceller = EchoCanceller(suppress=False)
    assert canceller.tail_taps >= len(path)
    out = run(canceller, scenario)
    assert erle_db(scenario, out, seconds(scenario, 4.0)) > 20.0


def test_g711_in_the_loop_and_a_saturating_loudspeaker(speech: dict) -> None:
    from functools import partial

    from dsp.echo_paths import soft_clip

    far, _ = speech[8000]
    path = echo_path(8000, delay_ms=24, erl_db=8, seed=13)
    coded = build_scenario(far, [path], ulaw=True)
    assert not np.array_equal(coded.near, build_scenario(far, [path]).near)
    assert erle_db(coded, run(EchoCanceller(suppress=False), coded), seconds(coded, 4.0)) > 25.0
    ceiling = 32768 * 10 ** (-20 / 20)
    driven = build_scenario(far, [path], loudspeaker=partial(soft_clip, ceiling=ceiling))
    plain = erle_db(driven, run(EchoCanceller(suppress=False), driven), seconds(driven, 4.0))
    suppressed = run(EchoCanceller(suppress=True), driven)
    # a linear filter cannot model the saturation; the suppressor takes what it leaves
    assert erle_db(driven, suppressed, seconds(driven, 4.0)) > plain + 6.0


def test_g168_echo_paths_and_composite_source_signal() -> None:
    from dsp.echo_paths import erl_db as path_erl_db
    from dsp.echo_paths import g168_models
    from telephony.testing.signals import composite_source, level_dbm0

    models = g168_models()
    assert sorted(models) == list(range(2, 10))
    assert all(48 <= len(taps) <= 160 for taps in models.values())
    css = composite_source("c1", 1.4, -14.2)
    cycle = len(css) // 2  # 700 ms: voiced, noise, pause, then all of it inverted
    np.testing.assert_allclose(css[cycle // 2 : cycle], -css[: cycle // 2], atol=1e-9)
    assert -17.0 < level_dbm0(css).max() < -12.0
    assert 4.0 < path_erl_db(np.concatenate([models[2]]) * 10 ** (-6 / 20)) < 8.0
