"""G.711 benchmark: our numba µ-law/A-law against audioop (Python 3.11's C module), side by
side: conformance over every input and throughput on whole buffers and on 20 ms frames."""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import machine, result_path, table, write_result
from dsp import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

RESULTS = result_path("g711")


def best_seconds(action: Callable[[], object], repeats: int) -> float:
    action()
    timings = []
    for _ in range(repeats):
        start = time.process_time()
        action()
        timings.append(time.process_time() - start)
    return min(timings)


#: our kernel (int16 samples -> codes or back), and audioop's (bytes, sample width -> bytes)
Kernel = Callable[[np.ndarray], np.ndarray]
Reference = Callable[[bytes, int], bytes]
LAWS: tuple[tuple[str, Kernel, Kernel, Reference, Reference], ...] = (
    ("PCMU", g711.ulaw_encode, g711.ulaw_decode, audioop.lin2ulaw, audioop.ulaw2lin),
    ("PCMA", g711.alaw_encode, g711.alaw_decode, audioop.lin2alaw, audioop.alaw2lin),
)


def conformance() -> list[dict[str, Any]]:
    samples = np.arange(-32768, 32768, dtype=np.int16)
    codes = np.arange(256, dtype=np.uint8)
    rows = []
    for law, encode, decode, ref_encode, ref_decode in LAWS:
        for direction, inputs, kernel, reference, output in (
            ("encode", samples, encode, ref_encode, np.uint8),
            ("decode", codes, decode, ref_decode, np.int16),
        ):
            ours = kernel(inputs)
            theirs = np.frombuffer(reference(inputs.tobytes(), 2), dtype=output)
            rows.append(
                {"law": law, "direction": direction, "inputs": len(inputs),
                 "mismatches": int(np.sum(ours != theirs))}
            )  # fmt: skip
    return rows


def cases(
    encode: Kernel, decode: Kernel, ref_encode: Reference, ref_decode: Reference, pcm: np.ndarray
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """(ours, audioop) callables per case, on one buffer and on 160-sample (20 ms) frames."""
    raw = pcm.tobytes()
    frames = [pcm[i : i + 160] for i in range(0, len(pcm), 160)]
    raw_frames = [f.tobytes() for f in frames]
    coded = encode(pcm)
    coded_raw = coded.tobytes()
    coded_frames = [coded[i : i + 160] for i in range(0, len(coded), 160)]
    coded_raw_frames = [c.tobytes() for c in coded_frames]
    return {
        "encode, one buffer": (lambda: encode(pcm), lambda: ref_encode(raw, 2)),
        "decode, one buffer": (lambda: decode(coded), lambda: ref_decode(coded_raw, 2)),
        "encode, 20 ms frames": (
            lambda: [encode(f) for f in frames],
            lambda: [ref_encode(f, 2) for f in raw_frames],
        ),
        "decode, 20 ms frames": (
            lambda: [decode(f) for f in coded_frames],
            lambda: [ref_decode(f, 2) for f in coded_raw_frames],
        ),
    }


def throughput(seconds_of_audio: float, repeats: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    pcm = np.clip(rng.normal(0, 4000, int(8000 * seconds_of_audio)), -32768, 32767)
    pcm = pcm.astype(np.int16)
    rows = []
    for law, encode, decode, ref_encode, ref_decode in LAWS:
        for case, (ours, reference) in cases(encode, decode, ref_encode, ref_decode, pcm).items():
            ours_s = best_seconds(ours, repeats)
            ref_s = best_seconds(reference, repeats)
            rows.append(
                {
                    "law": law,
                    "case": case,
                    "ours_x_realtime": seconds_of_audio / ours_s,
                    "audioop_x_realtime": seconds_of_audio / ref_s,
                    "ratio": ref_s / ours_s,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench g711", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per run (8 kHz)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case; the best counts")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = conformance()
    speed = throughput(args.seconds, args.repeats)
    print("conformance against audioop")
    header = ("law", "direction", "inputs", "mismatches")
    print(table(header, [[row[key] for key in header] for row in rows]))
    print("\nthroughput (audio seconds per CPU second, 8 kHz mono)")
    print(
        table(
            ("law", "case", "ours", "audioop", "ours/audioop"),
            [
                [r["law"], r["case"], r["ours_x_realtime"], r["audioop_x_realtime"], r["ratio"]]
                for r in speed
            ],
            digits=(0, 0, 0, 0, 2),
        )
    )
    print()
    write_result(
        args.output, {"machine": machine(), "conformance": rows, "throughput": speed}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
