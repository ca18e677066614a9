"""Mode switch on a live call: from the request (listen -> whisper, whisper -> barge) to the
supervisor's tone in the ear of the party who now hears them.

Real parts: Kamailio, a switch worker, pjsua2 test phones for the caller (1500 Hz), the agent
(1000 Hz) and the supervisor (2000 Hz), each recording what it hears. The request goes to the
worker's ``POST /calls/<id>/monitor`` (the console's button adds one local HTTP hop to it).
A phone's recording has no wall clock, so each switch carries a marker: just before it the
bench silences the party already heard (the caller before whisper, heard by the agent; the
agent before barge, heard by the caller), and the switch time is, in the listener's recording,
(the supervisor's tone onset - the marker's drop) - (request time - marker time): both go
through the same bridge and jitter buffer, so the path's own delay cancels. 20 ms blocks.

Run: ``.venv/bin/python -m bench monitor_switch --sessions 10``; writes
``bench/results/monitor_switch.json``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/monitor_switch.py``
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.report import machine, result_path, summary_ms, table, write_result  # noqa: E402

DEFAULT_OUTPUT = result_path("monitor_switch")
BLOCK = 160  # 20 ms at 8 kHz
MARK_SECONDS = 0.6  # marker -> request
HOLD_SECONDS = 1.2  # after a request, before the next step


def levels(samples: np.ndarray, freq: float) -> np.ndarray:
    from telephony.testing.audio import goertzel_power

    starts = range(0, len(samples) - BLOCK, BLOCK)
    power = [goertzel_power(samples[s : s + BLOCK], freq) * 4.0 / BLOCK for s in starts]
    db: np.ndarray = 10 * np.log10(np.maximum(np.array(power), 1e-3) / 32768.0**2)
    return db


def switch_ms(heard: np.ndarray, marker_hz: float, marker_at: float, asked_at: float) -> float:
    """The switch time from the listener's recording (see the module's text), in ms."""
    marker = levels(heard, marker_hz) > -30
    supervisor = levels(heard, 2000) > -30
    on = np.flatnonzero(supervisor)
    if not on.size:
        raise RuntimeError("the supervisor's tone never reached the listener")
    onset = int(on[0])
    before = np.flatnonzero(marker[:onset])
    if not before.size:
        raise RuntimeError("no marker tone before the supervisor's")
    drop = int(before[-1]) + 1
    return (onset - drop) * BLOCK / 8 - (asked_at - marker_at) * 1000


def one_session(floor: Any) -> dict[str, float]:
    harness = importlib.import_module("tests.telephony.test_switch_monitor")
    AGENT_HZ, CALLER_HZ = harness.AGENT_HZ, harness.CALLER_HZ

    caller, call, agent_call, call_id = floor.call()
    sup_call = floor.join(call_id, "listen")
    time.sleep(HOLD_SECONDS)  # a bench paces its own script; nothing is awaited here
    marked = time.time()
    caller.silence(call)
    time.sleep(MARK_SECONDS)
    whisper_at = time.time()
    assert floor.monitor(call_id, "whisper").status_code == 200
    time.sleep(HOLD_SECONDS)
    marked_2 = time.time()
    floor.agent.silence(agent_call)
    time.sleep(MARK_SECONDS)
    barge_at = time.time()
    assert floor.monitor(call_id, "barge").status_code == 200
    time.sleep(HOLD_SECONDS)
    floor.leave(call_id, sup_call)
    caller.hangup(call)
    caller.wait_for("state", call=call, state="disconnected")
    floor.events.wait_for("ended", call_id=call_id, timeout=10)
    agent_heard = floor.heard(floor.agent, agent_call)
    caller_heard = floor.heard(caller, call)
    return {
        "listen_to_whisper": switch_ms(agent_heard, CALLER_HZ, marked, whisper_at),
        "whisper_to_barge": switch_ms(caller_heard, AGENT_HZ, marked_2, barge_at),
    }


def run(sessions: int) -> dict[str, Any]:
    from telephony.testing.deployment import Deployment
    from telephony.testing.edge import make_settings, running_edge

    Floor = importlib.import_module("tests.telephony.test_switch_monitor").Floor

    samples: dict[str, list[float]] = {}
    failures: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    settings = make_settings(root, heartbeat_seconds=0.5, stale_after_seconds=3.0)
    with running_edge(root, settings=settings) as edge:
        deployment = Deployment(root, db_url=edge.settings.database_url)
        try:
            floor = Floor(edge, deployment)
            for n in range(sessions):
                try:
                    for key, value in one_session(floor).items():
                        samples.setdefault(key, []).append(value)
                except Exception as error:  # counted and reported
                    failures.append(f"session {n}: {error}")
        finally:
            deployment.close()
    return {
        "sessions": sessions,
        "failures": failures,
        "metrics": {key: summary_ms(values) for key, values in samples.items()},
        "path": "Kamailio + switch worker + pjsua2 phones; request straight to the worker API",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench monitor_switch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    result = run(args.sessions)
    result["machine"] = machine()
    write_result(args.output, result)
    rows = [
        [key, m["n"], m["median_ms"], m["p95_ms"], m["max_ms"]]
        for key, m in result["metrics"].items()
    ]
    print(table(["switch", "n", "median ms", "p95 ms", "max ms"], rows))
    if result["failures"]:
        print("failures:", *result["failures"], sep="\n  ")
    return 0 if not result["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
