"""Echo canceller benchmark: ours against libspeexdsp (and spandsp) on the same echo scenarios.

Run with ``.venv/bin/python -m bench.aec``. Every canceller sees the same signals: espeak-ng
prompts (and, when installed, pocketsphinx-testdata recordings) through G.168-style synthetic
echo paths, with line noise, caller double talk and an echo-path change. Results go to
``bench/results/aec.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.report import machine, result_path, table, write_result
from dsp.aec import EchoCanceller, EchoCancellerBank
from dsp.echo_paths import EchoScenario, build_scenario, echo_path
from ivr.prompts import read_wav, speech_samples

ROOT = Path(__file__).resolve().parents[1]
RESULTS = result_path("aec")
CACHE = ROOT / "var" / "cache" / "bench-speech"
RECORDINGS = Path("/usr/share/pocketsphinx/test/data/librivox")
WARMUP_S = 3.0  # ERLE is measured after this much audio (initial convergence)
RECONVERGED_DB = 15.0  # an echo path counts as re-learnt when a 1 s window reaches this ERLE

PROMPTS = [
    "Hello, thank you for calling. How are you today?",
    "Please say or key in your account number, followed by the hash key.",
    "Your call is important to us. Please stay on the line, an agent will be with you shortly.",
    "To hear these options again, press star. To reach a person, press zero.",
    "We have noticed an unusual payment on your account. Do you recognise it?",
]
CALLER = [
    "I am fine thanks, but my bill is much higher than last month.",
    "My account number is seven three nine one zero four eight two.",
    "Can I talk to somebody please? I have been waiting for a long time.",
]


@dataclass
class Scenario:
    name: str
    signals: EchoScenario
    frame: int = 160
    talk_from_s: float | None = None  # the caller talks from here (double talk)
    change_at_s: float | None = None  # the echo path changes here


class Canceller(Protocol):
    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray: ...


@dataclass
class Contender:
    name: str
    make: Callable[[int, int], Canceller]  # (clock_rate, frame) -> a canceller
    suppressor: bool = False
    rates: tuple[int, ...] = (8000, 16000)
    results: dict[str, dict[str, float]] = field(default_factory=dict)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C code that prints to stdout (Debian's spandsp traces every sample)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def speech(texts: list[str], rate: int, gap_s: float = 0.4) -> np.ndarray:
    pieces = []
    for text in texts:
        pieces += [speech_samples(text, "en", CACHE, rate), np.zeros(int(gap_s * rate), np.int16)]
    return np.concatenate(pieces)


def recordings(seconds: float) -> np.ndarray | None:
    """Real English speech at 8 kHz (pocketsphinx-testdata), or None if not installed."""
    files = sorted(RECORDINGS.glob("*.wav"))
    if not files:
        return None
    samples = np.concatenate([read_wav(path)[0] for path in files])
    rate = read_wav(files[0])[1]
    if rate == 16000:  # crude but identical for every contender: average pairs
        samples = ((samples[0::2].astype(np.int32) + samples[1::2]) // 2).astype(np.int16)
    return samples[: int(seconds * 8000)]


def caller_speech(far: np.ndarray, rate: int, start_s: float, level: float) -> np.ndarray:
    """The caller's words from *start_s*, scaled by *level* (1.0 = as espeak renders them)."""
    words = speech(CALLER, rate).astype(np.float64) * level
    talk = np.zeros(len(far))
    begin = int(start_s * rate)
    piece = words[: len(far) - begin]
    talk[begin : begin + len(piece)] = piece
    return talk


def scenarios(seconds: float) -> list[Scenario]:
    far8 = speech(PROMPTS, 8000)[: int(seconds * 8000)]
    far16 = speech(PROMPTS, 16000)[: int(seconds * 16000)]
    path = echo_path(8000, delay_ms=24, erl_db=8, seed=4)
    result = [
        Scenario("far-only 0 ms, ERL 6 dB", build_scenario(far8, [echo_path(8000, 0, 4, 6, 1)])),
        Scenario(
            "far-only 32 ms, ERL 12 dB, noise -55 dBFS",
            build_scenario(far8, [echo_path(8000, 32, 8, 12, 2)], noise_dbfs=-55),
        ),
        Scenario(
            "far-only 64 ms, ERL 20 dB", build_scenario(far8, [echo_path(8000, 64, 6, 20, 3)])
        ),
    ]
    real = recordings(seconds)
    if real is not None:
        result.append(
            Scenario("far-only real speech, 40 ms", build_scenario(real, [echo_path(8000, 40)]))
        )
    for label, level in (("caller at echo level", 0.3), ("caller 6 dB louder", 0.6)):
        near = caller_speech(far8, 8000, 6.0, level)
        result.append(
            Scenario(f"double talk, {label}", build_scenario(far8, [path], near), talk_from_s=6.0)
        )
    twice = np.concatenate([far8, far8])
    second = echo_path(8000, delay_ms=56, erl_db=10, seed=9)
    result.append(
        Scenario(
            "echo path change (24 -> 56 ms)",
            build_scenario(twice, [path, second]),
            change_at_s=len(far8) / 8000,
        )
    )
    result.append(
        Scenario(
            "16 kHz far-only 20 ms, ERL 10 dB",
            build_scenario(far16, [echo_path(16000, 20, 6, 10, 5)], clock_rate=16000),
            frame=320,
        )
    )
    return result


def run(canceller: Canceller, signals: EchoScenario, frame: int) -> np.ndarray:
    usable = len(signals.far) // frame * frame
    process = canceller.process
    return np.concatenate(
        [
            process(signals.near[i : i + frame], signals.far[i : i + frame])
            for i in range(0, usable, frame)
        ]
    ).astype(np.float64)


def ratio_db(signal: np.ndarray, rest: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(signal**2) / max(np.sum(rest**2), 1e-9)))


def measure(scenario: Scenario, out: np.ndarray) -> dict[str, float]:
    """ERLE after warm-up; in double talk also the caller's SNR; after a change the recovery."""
    s = scenario.signals
    rate = s.clock_rate
    n = len(out)
    echo, near, noise = s.echo[:n], s.near_speech[:n], s.noise[:n]
    residual = out - near - noise
    settled = slice(int(WARMUP_S * rate), n)
    metrics = {"erle_db": ratio_db(echo[settled], residual[settled])}
    if scenario.talk_from_s is not None:
        talking = slice(int(scenario.talk_from_s * rate), n)
        before = slice(int(WARMUP_S * rate), int(scenario.talk_from_s * rate))
        metrics["erle_far_only_db"] = ratio_db(echo[before], residual[before])
        metrics["erle_double_talk_db"] = ratio_db(echo[talking], residual[talking])
        metrics["near_snr_db"] = ratio_db(near[talking], out[talking] - near[talking])
        metrics["far_only_attenuation_db"] = ratio_db(s.near[before].astype(float), out[before])
    if scenario.change_at_s is not None:
        change = int(scenario.change_at_s * rate)
        before = slice(change - 4 * rate, change)
        metrics["erle_before_change_db"] = ratio_db(echo[before], residual[before])
        metrics["erle_after_change_db"] = ratio_db(echo[change:], residual[change:])
        metrics["reconvergence_s"] = reconvergence_s(echo[change:], residual[change:], rate)
    return metrics


def reconvergence_s(echo: np.ndarray, residual: np.ndarray, rate: int) -> float:
    """Seconds until a 1 s window of the output first reaches RECONVERGED_DB of ERLE."""
    step, window = rate // 10, rate
    for start in range(0, len(echo) - window, step):
        span = slice(start, start + window)
        if ratio_db(echo[span], residual[span]) >= RECONVERGED_DB:
            return (start + window) / rate
    return float("inf")


def throughput(make: Callable[[], Canceller], signals: EchoScenario, frame: int) -> float:
    """Audio seconds per CPU second of one channel, over one run of *signals*."""
    canceller = make()
    started = time.process_time()
    run(canceller, signals, frame)
    elapsed = time.process_time() - started
    return len(signals.far) / signals.clock_rate / elapsed


def bank_throughput(
    signals: EchoScenario, channels: int, suppress: bool, frame: int = 160
) -> float:
    """Audio seconds per CPU second over a bank of *channels* legs, over one run."""
    frames = len(signals.far) // frame
    rng = np.random.default_rng(0)
    shifts = rng.integers(0, len(signals.far), channels)
    near = np.stack([np.roll(signals.near, k)[: frames * frame] for k in shifts])
    far = np.stack([np.roll(signals.far, k)[: frames * frame] for k in shifts])
    near = np.ascontiguousarray(near.reshape(channels, frames, frame).transpose(1, 0, 2))
    far = np.ascontiguousarray(far.reshape(channels, frames, frame).transpose(1, 0, 2))
    bank = EchoCancellerBank(channels, suppress=suppress)
    started = time.process_time()
    for i in range(frames):
        bank.process(near[i], far[i])
    elapsed = time.process_time() - started
    return channels * frames * frame / signals.clock_rate / elapsed


def contenders(with_spandsp: bool) -> list[Contender]:
    from bench.speex import SpandspEchoCanceller, SpeexEchoCanceller

    result = [
        Contender("ours", lambda rate, frame: EchoCanceller(rate, 128, frame, suppress=False)),
        Contender("speex", lambda rate, frame: SpeexEchoCanceller(rate, 128, frame)),
        Contender(
            "ours+suppressor",
            lambda rate, frame: EchoCanceller(rate, 128, frame, suppress=True),
            suppressor=True,
        ),
        Contender(
            "speex+preprocess",
            lambda rate, frame: SpeexEchoCanceller(rate, 128, frame, suppress=True),
            suppressor=True,
        ),
    ]
    if with_spandsp:
        result.append(
            # spandsp's line canceller diverges with 1024 taps here; 256 (32 ms) is its range
            Contender(
                "spandsp 256 taps", lambda rate, frame: SpandspEchoCanceller(256), rates=(8000,)
            )
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aec", description=__doc__)
    parser.add_argument("--seconds", type=float, default=16.0, help="audio per scenario")
    parser.add_argument("--channels", type=int, default=64, help="channels in the batch run")
    parser.add_argument("--rounds", type=int, default=5, help="throughput: best of this many")
    parser.add_argument("--no-spandsp", action="store_true", help="skip spandsp (slow)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    cases = scenarios(args.seconds)
    players = contenders(not args.no_spandsp)
    for case in cases:
        for player in players:
            if case.signals.clock_rate not in player.rates:
                continue
            with quiet_stdout():
                canceller = player.make(case.signals.clock_rate, case.frame)
                player.results[case.name] = measure(case, run(canceller, case.signals, case.frame))

    speed_signal = build_scenario(np.tile(cases[1].signals.far, 4), [echo_path(8000, 32)])
    batch_signal = build_scenario(cases[1].signals.far[:40000], [echo_path(8000, 32)])
    def single(player: Contender) -> Callable[[], float]:
        return lambda: throughput(lambda: player.make(8000, 160), speed_signal, 160)

    def bank(suppress: bool) -> Callable[[], float]:
        return lambda: bank_throughput(batch_signal, args.channels, suppress)

    measures = {player.name: single(player) for player in players}
    for suppress in (False, True):
        measures[f"ours{'+suppressor' if suppress else ''} bank x{args.channels}"] = bank(suppress)
    speed: dict[str, float] = {}
    for round_index in range(args.rounds):  # interleaved, best of rounds: fair under load
        for name, measure_once in measures.items():
            if name.startswith("spandsp") and round_index > 0:
                continue  # slow, and far behind anyway
            with quiet_stdout():
                speed[name] = max(speed.get(name, 0.0), measure_once())
    report = summarise(cases, players, speed, args)
    print(render(report))
    print()
    write_result(args.output, report)
    return 0


def summarise(
    cases: list[Scenario],
    players: list[Contender],
    speed: dict[str, float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    ours, speex = players[0].results, players[1].results
    ratios = {
        "single channel, ours / speex": speed["ours"] / speed["speex"],
        "single channel with suppressors, ours / speex": speed["ours+suppressor"]
        / speed["speex+preprocess"],
        f"bank x{args.channels}, ours / speex": speed[f"ours bank x{args.channels}"]
        / speed["speex"],
        f"bank x{args.channels} with suppressors, ours / speex": speed[
            f"ours+suppressor bank x{args.channels}"
        ]
        / speed["speex+preprocess"],
    }
    erle_margin = {name: ours[name]["erle_db"] - speex[name]["erle_db"] for name in ours}
    talk_margin = {
        name: ours[name]["erle_double_talk_db"] - speex[name]["erle_double_talk_db"]
        for name in ours
        if "erle_double_talk_db" in ours[name]
    }
    targets = {
        "ERLE >= speex on every scenario": all(m >= 0 for m in erle_margin.values()),
        "double-talk ERLE >= speex + 3 dB": all(m >= 3 for m in talk_margin.values()),
        "single channel >= 1.5x speex": ratios["single channel, ours / speex"] >= 1.5,
        "bank >= 3x speex": ratios[f"bank x{args.channels}, ours / speex"] >= 3.0,
    }
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "channels": args.channels,
            "tail_ms": 128,
            "frame_ms": 20,
            "warmup_s": WARMUP_S,
            "reconverged_db": RECONVERGED_DB,
        },
        "quality": {p.name: p.results for p in players},
        "erle_margin_db": erle_margin,
        "double_talk_margin_db": talk_margin,
        "throughput_audio_s_per_cpu_s": speed,
        "throughput_ratios": ratios,
        "targets": targets,
    }


def render(report: dict[str, Any]) -> str:
    quality = report["quality"]
    names = list(quality)
    rows = [
        [case, metric, *(quality[n].get(case, {}).get(metric) for n in names)]
        for case in quality[names[0]]
        for metric in quality[names[0]][case]
    ]
    speed = [[k, f"{v:.0f}"] for k, v in report["throughput_audio_s_per_cpu_s"].items()]
    speed += [[k, f"{v:.2f}x"] for k, v in report["throughput_ratios"].items()]
    targets = [[k, "yes" if v else "NO"] for k, v in report["targets"].items()]
    return "\n\n".join(
        [
            table(("scenario", "metric", *names), rows),
            table(("throughput (audio s / CPU s)", "value"), speed),
            table(("target", "met"), targets),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
