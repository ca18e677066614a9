"""``python -m bench``: list the benchmarks, run one by name, or run the quick ones in turn."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its module under ``bench/`` (which has ``main(argv) -> int``)."""

    module: str
    measures: str
    quick: bool  # seconds to a minute or two on the development machine, no SIP processes

    def main(self) -> Callable[[list[str] | None], int | None]:
        entry: Callable[[list[str] | None], int | None] = importlib.import_module(
            f"bench.{self.module}"
        ).main
        return entry


#: name -> benchmark; every one prints a table and writes bench/results/<name>.json
BENCHMARKS: dict[str, Benchmark] = {
    "g711": Benchmark("g711", "G.711 codecs against audioop: conformance, throughput", True),
    "dtmf": Benchmark("dtmf", "DTMF receiver against spandsp: conformance, talk-off, speed", True),
    "vad": Benchmark(
        "vad", "voice activity detector against webrtcvad, Silero, TEN: accuracy, cost", True
    ),
    "aec": Benchmark("aec", "echo canceller against speexdsp and spandsp, fairly: ERLE", True),
    "g168": Benchmark("g168", "ITU-T G.168 tests 2A-3B, ours and spandsp: pass/fail", False),
    "asr": Benchmark("asr", "speech service against in-process Vosk: RTF, streams, latency", False),
    "asr_gating": Benchmark(
        "asr_gating", "gated against ungated live transcription: service CPU and WER", False
    ),
    "calls": Benchmark("calls", "bridged calls via edge and workers against direct pjsua2", False),
    "ivr": Benchmark("ivr", "IVR latencies over real SIP calls and the speech service", False),
    "asr_finals": Benchmark(
        "asr_finals", "where a final's latency goes: pause detection, Vosk decode, final", False
    ),
    "call_cost": Benchmark(
        "call_cost", "cost per call, IVR + speech + bridge, against direct pjsua2", False
    ),
    "screenpop": Benchmark("screenpop", "screen-pop latency, worker event to Chromium", False),
    "floor_calls": Benchmark(
        "floor_calls", "alert latency, caller's words to the supervisor's browser", False
    ),
    "monitor_switch": Benchmark(
        "monitor_switch", "listen -> whisper -> barge: request to the new audio path", False
    ),
    "alert_quality": Benchmark(
        "alert_quality", "upset and topic alerts on a labelled set: precision, recall", False
    ),
    "routing": Benchmark(
        "routing", "routing simulator: 10,000 calls on the real router in virtual time", True
    ),
    "analytics": Benchmark(
        "analytics", "hang-up to a call's analytics and summary stored; CPU per call", False
    ),
    "soak": Benchmark(
        "soak", "memory, descriptors, threads of every process over a long run; CDRs kept", False
    ),
    "console_streams": Benchmark(
        "console_streams", "console sign-in latency, memory, threads with N open streams", True
    ),
}


def listing() -> str:
    width = max(len(name) for name in BENCHMARKS)
    lines = [
        f"  {name:<{width}}  {'quick' if bench.quick else 'slow ':5}  {bench.measures}"
        for name, bench in BENCHMARKS.items()
    ]
    return "benchmarks (quick ones run with --all):\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks that run ours and a reference side by side, print a table and "
        "write bench/results/<name>.json. `python -m bench NAME --help` shows a benchmark's "
        "options.",
        epilog=listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--all", action="store_true", help="run every quick benchmark in turn")
    parser.add_argument(
        "name", nargs="?", choices=sorted(BENCHMARKS), metavar="NAME", help="the benchmark to run"
    )
    return parser


def run_quick() -> int:
    """Each quick benchmark with its defaults, one after another; the exit code of the worst."""
    failed = []
    for name, bench in BENCHMARKS.items():
        if not bench.quick:
            continue
        print(f"== {name}: {bench.measures}", flush=True)
        started = time.monotonic()
        code = int(bench.main()([]) or 0)
        print(f"== {name}: exit {code} after {time.monotonic() - started:.0f} s\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in BENCHMARKS:  # the benchmark parses the rest (its own --help too)
        return int(BENCHMARKS[argv[0]].main()(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    if args.all:
        return run_quick()
    print(listing())
    print("\nrun one: python -m bench NAME [options]; the quick ones: python -m bench --all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
