"""Bridged calls through the Kamailio edge and switch workers versus direct pjsua2 calls."""

# What is measured and how: docs/benchmarks.md, section "Calls". Run it with
# ``.venv/bin/python -m bench calls`` (under 2 minutes; ``--steps 1,2,4,8,12`` ramps
# further). Loopback only; every process it starts is stopped by its pid at the end.
# The parts: bench.call_paths (bridged or direct), bench.call_steps (one step of the ramp),
# bench.frame_loss (the tones heard), bench.resources (/proc), bench.worker_memory.

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.call_paths import FLOW, CallPath, direct_path, switch_path
from bench.call_steps import AGENT_TONE, CALLER_TONE, StepResult, measure_idle, run_step, tone_wavs
from bench.report import machine, percentile, result_path, table, write_result
from bench.resources import rss_kib
from bench.workdir import scratch
from bench.worker_memory import run_memory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = result_path("calls")
DEFAULT_STEPS = (1, 2, 4, 6)


def parse_steps(text: str) -> list[int]:
    steps = sorted({int(part) for part in text.split(",") if part.strip()})
    if not steps or steps[0] < 1:
        raise argparse.ArgumentTypeError("steps: positive integers, e.g. 1,2,4,6")
    return steps


def run(args: argparse.Namespace) -> dict[str, Any]:
    from telephony.testing.deployment import Deployment
    from telephony.testing.edge import make_settings, running_edge

    with scratch("bench-calls-", keep=True) as root:
        most = max(args.steps)
        settings = make_settings(root, heartbeat_seconds=1.0, stale_after_seconds=5.0)
        results: list[StepResult] = []
        tones = tone_wavs(root, args.hold + 30.0)
        with running_edge(root, settings=settings) as edge:
            deployment = Deployment(root, db_url=settings.database_url)
            try:
                switch, workers = switch_path(deployment, edge, most)
                direct = direct_path(deployment, most)
                time.sleep(2.0)  # start-up work (prompt rendering, first heartbeats) ends
                measure_idle(switch, args.idle)
                measure_idle(direct, args.idle)
                idle_worker = [rss_kib(w.process.pid) for w in workers]
                idle_phone = [rss_kib(pid) for pid in direct.phone_pids()]
                for calls in args.steps:
                    for path in (switch, direct):
                        step = run_step(path, calls, args.hold, tones)
                        results.append(step)
                        print_step(step)
            finally:
                deployment.close()
        memory = run_memory(root / "memory", args.memory_workers, args.settle)
        return report(args, results, switch, direct, idle_worker, idle_phone, memory)


def report(
    args: argparse.Namespace,
    steps: list[StepResult],
    switch: CallPath,
    direct: CallPath,
    idle_worker: list[int],
    idle_phone: list[int],
    memory: dict[str, Any],
) -> dict[str, Any]:
    clean = [s.calls for s in steps if s.path == "switch" and s.clean]
    return {
        "benchmark": "calls",
        "source": source_state(),
        "machine": {**machine(), "architecture": platform.machine()},
        "settings": {"steps": args.steps, "hold_seconds": args.hold, "idle_seconds": args.idle,
                     "tones_hz": [CALLER_TONE, AGENT_TONE], "flow": FLOW,
                     "memory_workers": args.memory_workers},
        "idle": {
            "switch_cores": round(switch.idle_cores, 4),
            "direct_cores": round(direct.idle_cores, 4),
            "worker_rss_mib": round(sum(idle_worker) / len(idle_worker) / 1024, 1),
            "phone_rss_mib": round(sum(idle_phone) / len(idle_phone) / 1024, 1),
        },
        "steps": [step_json(s) for s in steps],
        "most_clean_bridged_calls": max(clean, default=0),
        "memory": memory,
    }  # fmt: skip


def source_state() -> dict[str, Any]:
    """The commit measured, and files changed in the shared working tree at the time."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": git("diff", "--name-only").split(),
    }


def step_json(step: StepResult) -> dict[str, Any]:
    data = asdict(step)
    data["setup_ms_median"] = round(percentile(step.setup_ms, 0.5), 1)
    data["setup_ms_max"] = round(max(step.setup_ms, default=math.nan), 1)
    data["setup_rate"] = round(step.setup_rate, 2)
    data["cpu_ms_per_call_second"] = round(step.cpu_ms_per_call_second, 2)
    data["phones_cpu_ms_per_call_second"] = round(step.phones_cpu_ms_per_call_second, 2)
    data["cores_busy"] = round(step.cores_busy, 3)
    data["rss_kib_per_call"] = round(step.rss_kib_per_call)
    data["lost_percent"] = round(100 * step.frames.lost / max(step.frames.frames, 1), 3)
    data["glitch_percent"] = round(100 * step.frames.glitches / max(step.frames.frames, 1), 3)
    data["clean"] = step.clean
    return data


def print_step(step: StepResult) -> None:
    f = step.frames
    median, worst = percentile(step.setup_ms, 0.5), max(step.setup_ms, default=math.nan)
    print(
        f"{step.path:>7} {step.calls:>3} calls: {step.bridged} bridged, setup median "
        f"{median:7.1f} ms max {worst:7.1f} ms, "
        f"{step.setup_rate:6.2f}/s, frames {f.frames} lost {f.lost} glitches {f.glitches}, "
        f"tap drops {step.tap_frames_dropped}, CPU {step.cpu_ms_per_call_second:6.1f} ms/call-s",
        flush=True,
    )


def print_table(result: dict[str, Any]) -> None:
    rows: list[list[Any]] = []
    by_step: dict[int, dict[str, dict[str, Any]]] = {}
    for step in result["steps"]:
        by_step.setdefault(step["calls"], {})[step["path"]] = step
    for calls, paths in sorted(by_step.items()):
        floor = paths.get("direct", {}).get("cpu_ms_per_call_second") or math.nan
        for name in ("switch", "direct"):
            s = paths.get(name)
            if s is None:
                continue
            switch = name == "switch"
            frames, cpu = s["frames"], s["cpu_ms_per_call_second"]
            rows.append(
                [name, calls, f"{s['setup_ms_median']:.1f}/{s['setup_ms_max']:.1f}",
                 s["setup_rate"], frames["frames"], frames["lost"], frames["glitches"],
                 cpu, cpu / floor if switch else 1.0, s["rss_kib_per_call"] if switch else None]
            )  # fmt: skip
    header = ("path", "calls", "setup med/max ms", "calls/s", "frames", "lost", "glitch",
              "CPU ms/call-s", "ratio", "RSS KiB/call")  # fmt: skip
    print()
    print(table(header, rows, digits=(0, 0, 0, 2, 0, 0, 0, 1, 2, 0)))
    print_threads(result["steps"])
    idle, memory = result["idle"], result["memory"]
    print(
        f"\nmost concurrent bridged calls with no lost frame: {result['most_clean_bridged_calls']}"
    )
    print(
        f"idle worker RSS {idle['worker_rss_mib']} MiB, idle phone RSS {idle['phone_rss_mib']} MiB"
    )
    print(f"idle workers ({result['settings']['memory_workers']} per line):")
    for label, m in memory.items():
        print(
            f"  {label:<36} RSS {m['rss_mib_each']:>6} MiB each, PSS {m['pss_mib_each']:>6} "
            f"MiB each, PSS total {m['pss_mib_total']:>6} MiB (with any fork parent)"
        )


def print_threads(steps: list[dict[str, Any]]) -> None:
    """Where the CPU goes: workers' threads (bridged) and phones' threads (direct)."""
    labels = sorted({label for step in steps for label in step["threads_ms_per_call_second"]})
    print("\nCPU ms per call-second by thread (bridged: workers; direct: phones), idle subtracted")
    rows = [
        [step["path"], step["calls"],
         *(step["threads_ms_per_call_second"].get(label, 0.0) for label in labels)]
        for step in steps
    ]  # fmt: skip
    print(table(("path", "calls", *labels), rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench calls", description=(__doc__ or "").splitlines()[0].rstrip(",")
    )
    parser.add_argument(
        "--steps",
        type=parse_steps,
        default=list(DEFAULT_STEPS),
        help="simultaneous calls per step, comma-separated (default 1,2,4,6); "
        "one worker per call (a worker holds one bridged call and a spare leg)",
    )
    parser.add_argument("--hold", type=float, default=6.0, help="seconds of media per step")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU baseline")
    parser.add_argument(
        "--memory-workers",
        type=int,
        default=3,
        help="workers spawned and forked for the memory comparison",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds idle workers run before their memory is read",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-nice", action="store_true", help="do not lower our priority")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_nice and os.nice(0) < 10:
        os.nice(10 - os.nice(0))  # 2 shared cores: the bench and its children yield
    result = run(args)
    print_table(result)
    print()
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
