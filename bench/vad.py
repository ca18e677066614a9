"""VAD benchmark: our detector against webrtcvad (PyPI) on the same labelled mixtures of
espeak-ng speech (and, when Debian's pocketsphinx-testdata is installed, real recordings) and
noise at several SNRs: frame accuracy, recall, false alarms, speed."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import webrtcvad

from bench.report import machine, result_path, table, write_result
from dsp.vad import VoiceActivityDetector
from telephony.testing.signals import RECORDINGS, labelled_mixture

RESULTS = result_path("vad")
FRAME = 160  # 20 ms at 8 kHz


def ours(samples: np.ndarray, count: int) -> np.ndarray:
    detector = VoiceActivityDetector(8000)
    return np.array(
        [detector.process(samples[i * FRAME : (i + 1) * FRAME]).speech for i in range(count)]
    )


def webrtc(samples: np.ndarray, count: int, mode: int) -> np.ndarray:
    vad = webrtcvad.Vad(mode)
    frames = [samples[i * FRAME : (i + 1) * FRAME].tobytes() for i in range(count)]
    return np.array([vad.is_speech(f, 8000) for f in frames])


def scores(decided: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float(np.mean(decided == labels)),
        "recall": float(decided[labels].mean()),
        "false_alarm": float(decided[~labels].mean()),
    }


#: a detector: (samples, frame count) -> one speech decision per 20 ms frame
Detector = Callable[[np.ndarray, int], np.ndarray]


def evaluate(source: str, kind: str, snr: float, real: bool, reference: Detector) -> dict[str, Any]:
    samples, labels = labelled_mixture(snr, kind, real=real)
    count = len(labels)
    return {
        "speech": source,
        "noise": kind,
        "snr_db": snr,
        "seconds": count * FRAME / 8000,
        "speech_share": float(labels.mean()),
        "ours": scores(ours(samples, count), labels),
        "webrtcvad": scores(reference(samples, count), labels),
    }


def x_realtime(run: Detector, samples: np.ndarray, count: int, repeats: int) -> float:
    run(samples, count)
    best = min(_timed(run, samples, count) for _ in range(repeats))
    return count * FRAME / 8000 / best


def _timed(run: Detector, samples: np.ndarray, count: int) -> float:
    start = time.process_time()
    run(samples, count)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench vad", description=__doc__)
    parser.add_argument("--snr", type=float, nargs="+", default=[20, 10, 5, 0])
    parser.add_argument("--noise", nargs="+", default=["white", "pink", "hum"])
    parser.add_argument("--mode", type=int, default=2, help="webrtcvad aggressiveness 0-3")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs; the best counts")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    def reference(samples: np.ndarray, count: int) -> np.ndarray:
        return webrtc(samples, count, args.mode)

    sources = [("espeak", False)]
    if any(RECORDINGS.glob("librivox/*.wav")):
        sources.append(("recorded", True))
    rows = []
    for source, real in sources:
        for kind in args.noise:
            for snr in args.snr:
                rows.append(evaluate(source, kind, snr, real, reference))
    samples, labels = labelled_mixture(10, "pink")
    speed = {
        "ours_x_realtime": x_realtime(ours, samples, len(labels), args.repeats),
        "webrtcvad_x_realtime": x_realtime(reference, samples, len(labels), args.repeats),
    }
    speed["ratio"] = speed["ours_x_realtime"] / speed["webrtcvad_x_realtime"]

    print(f"frame accuracy / recall / false alarm (webrtcvad mode {args.mode})")
    cells = [
        [
            row["speech"],
            row["noise"],
            row["snr_db"],
            *(
                f"{row[who]['accuracy']:.3f} {row[who]['recall']:.3f} {row[who]['false_alarm']:.3f}"
                for who in ("ours", "webrtcvad")
            ),
        ]
        for row in rows
    ]
    print(table(("speech", "noise", "SNR", "ours", "webrtcvad"), cells, digits=0))
    mean = {
        f"{who}, {source}": float(
            np.mean([r[who]["accuracy"] for r in rows if r["speech"] == source])
        )
        for who in ("ours", "webrtcvad")
        for source, _ in sources
    }
    for key, value in mean.items():
        print(f"mean accuracy {key}: {value:.3f}")
    print(
        f"speed (audio s per CPU s, one stream, 20 ms frames): "
        f"ours {speed['ours_x_realtime']:.0f}, "
        f"webrtcvad {speed['webrtcvad_x_realtime']:.0f}, ratio {speed['ratio']:.2f}"
    )
    report = {
        "machine": machine(),
        "webrtcvad_mode": args.mode,
        "rows": rows,
        "mean_accuracy": mean,
        "speed": speed,
    }
    write_result(args.output, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
