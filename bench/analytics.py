"""Call analytics: time from hang-up to the call's analytics and summary stored, and the CPU
one call's analysis takes.

- ``hangup_to_stored``: real SIP calls through one switch worker with the IVR and the speech
  service (Korean model), both sides transcribed: a test phone dials, keys 0, is bridged to the
  agent's phone; both phones say an espeak-ng line; the caller hangs up. Measured from the
  bench's hang-up command to the moment both ``call_analytics`` and ``call_summaries`` rows of
  the call are in the database (polled every 20 ms). Most of it is the worker waiting for the
  recogniser's last results before it stores the transcript (docs/analytics.md).
- ``cpu_per_call``: ``analyse_call`` on scripted calls of three sizes stored in SQLite (5 min
  with 60 lines, 20 min with 240, 60 min with 720, moods on every caller line, credits and
  notes): the process CPU of reading, measuring and summarising (``cpu_seconds`` the runner
  stores) and the wall time including the write.

Run: ``.venv/bin/python -m bench analytics --calls 10``; writes ``bench/results/analytics.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/analytics.py``
    sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402

from analytics.facts import epoch  # noqa: E402
from analytics.runner import analyse_call  # noqa: E402
from bench.report import machine, result_path, summary_ms, table, write_result  # noqa: E402
from bench.workdir import scratch  # noqa: E402
from store.analytics_tables import CallAnalytics, CallSummary  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import (  # noqa: E402
    Agent,
    AgentState,
    Call,
    CallState,
    Customer,
    Interaction,
    SupportNumber,
)
from store.supervision import TranscriptLine  # noqa: E402

DEFAULT_OUTPUT = result_path("analytics")
CALLER_LINE = "요금이 너무 많이 나왔어요 확인해 주세요"
AGENT_LINE = "네 고객님 제가 바로 확인하겠습니다"
SIZES = {"5 min, 60 lines": (300, 60), "20 min, 240 lines": (1200, 240),
         "60 min, 720 lines": (3600, 720)}


def real_calls(calls: int) -> dict[str, Any]:
    from ivr.prompts import render_prompt
    from telephony.testing.deployment import SUPPORT, Deployment
    from telephony.testing.speech import SpeechServiceProcess

    with scratch("bench-analytics-", keep=True) as workdir:
        setup = Deployment(workdir)
        speech = SpeechServiceProcess(workdir, token=setup.token)
        speech.start()
        waits: list[float] = []
        cpu: list[float] = []
        failures: list[str] = []
        try:
            with setup.db.session() as session:
                session.execute(
                    update(SupportNumber).where(SupportNumber.number == SUPPORT).values(locale="ko")
                )
            setup.add_agent("1001")
            agent = setup.phone("agent1001", auto_answer=True, record=False)
            config = setup.config(
                agent_uris={"1001": agent.uri},
                flow="telephony.callflow.ivr:IvrFlows",
                speech=("127.0.0.1", speech.port),
                extra={"transcribe_agent": True},
            )
            worker = setup.worker(1, config)
            events = worker.events()
            caller = setup.phone("caller", record=False)
            said = {"caller": render_prompt(CALLER_LINE, "ko", workdir / "speech", 8000),
                    "agent": render_prompt(AGENT_LINE, "ko", workdir / "speech", 8000)}
            for number in range(calls):
                try:
                    waited, spent = one_call(setup.db, caller, agent, worker, events, said)
                    waits.append(waited * 1000)
                    cpu.append(spent * 1000)
                except (AssertionError, TimeoutError) as error:
                    failures.append(f"call {number + 1}: {error}"[:300])
                with setup.db.session() as session:
                    session.execute(
                        update(Agent).values(state=AgentState.AVAILABLE, claimed_by_call=None)
                    )
        finally:
            setup.close()
            speech.stop()
            if failures:  # the phones' and the worker's logs tell why
                print(f"logs of the failed calls kept in {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        return {"calls": calls, "failed_calls": failures, "hangup_to_stored": summary_ms(waits),
                "cpu_ms_real_calls": summary_ms(cpu, 3)}


def one_call(db: Database, caller: Any, agent: Any, worker: Any, events: Any,
             said: dict[str, Path]) -> tuple[float, float]:
    """One call to its hang-up; (seconds from hang-up to both rows stored, analysis CPU s).
    A call that fails mid-way is still hung up and waited for (its agent freed after)."""
    answered_before = len(agent.seen("state", state="confirmed"))
    call = caller.call(f"sip:800@{worker.sip_uri_host}")
    call_id = events.wait_for("answered", timeout=15)["call_id"]
    agent_call = None
    try:
        events.wait_for("ivr.prompt", timeout=30, call_id=call_id, prompt="greeting",
                        state="playing")
        caller.dtmf(call, "0")
        events.wait_for("bridged", timeout=30, call_id=call_id)
        deadline = time.monotonic() + 10  # the agent's phone's newest answered call
        while len(agent.seen("state", state="confirmed")) <= answered_before:
            if time.monotonic() > deadline:
                raise TimeoutError("the agent's phone never answered")
            time.sleep(0.02)
        agent_call = agent.seen("state", state="confirmed")[-1]["call"]
        caller.play(call, said["caller"])
        events.wait_for("transcript.final", timeout=30, call_id=call_id, speaker="caller")
        agent.play(agent_call, said["agent"])
        events.wait_for("transcript.final", timeout=30, call_id=call_id, speaker="agent")
    finally:
        hung_up = time.monotonic()
        caller.hangup(call)
        waited = stored(db, call_id, hung_up)
        if agent_call is not None:
            agent.wait_for("state", call=agent_call, state="disconnected")
    return waited


def stored(db: Database, call_id: str, hung_up: float) -> tuple[float, float]:
    deadline = hung_up + 60
    while time.monotonic() < deadline:
        with db.session() as session:
            row = session.get(CallAnalytics, call_id)
            if row is not None and session.get(CallSummary, call_id) is not None:
                return time.monotonic() - hung_up, row.cpu_seconds
        time.sleep(0.02)  # polling the database for the rows, with a deadline
    raise TimeoutError(f"no analytics for {call_id} within 60 s of hang-up")


def scripted(db: Database, call_id: str, seconds: int, lines: int) -> None:
    """An ended call of *seconds* with *lines* alternating lines, some overlapping, moods."""
    started = datetime(2026, 3, 2, 9) + timedelta(minutes=len(call_id))
    origin = epoch(started)
    step = (seconds - 20) / lines
    transcript = []
    for n in range(lines):
        speaker = "agent" if n % 2 == 0 else "caller"
        start = 20 + n * step - (0.8 if n % 7 == 3 else 0.0)  # every seventh line cuts in
        text = ("could you tell me your account number please" if n % 11 == 0
                else "I understand I am sorry the bill was wrong okay thank you")
        transcript.append({"speaker": speaker, "text": text, "start": start,
                           "end": start + step * 0.7, "spoken_at": origin + start})
    with db.session() as session:
        session.add(Call(id=call_id, caller="+3902000", dialled="800", state=CallState.ENDED,
                         started_at=started, answered_at=started + timedelta(seconds=1),
                         bridged_at=started + timedelta(seconds=18),
                         ended_at=started + timedelta(seconds=seconds), outcome="completed",
                         call_data={"queue": "support", "locale": "en",
                                    "greeting_transcript": "my bill is wrong",
                                    "mood_score": -0.4,
                                    "holds": [{"held_at": (started + timedelta(seconds=60))
                                               .isoformat(),
                                               "resumed_at": (started + timedelta(seconds=90))
                                               .isoformat()}]},
                         transcript=transcript))
        for n in range(1, lines, 2):
            session.add(TranscriptLine(call_id=call_id, speaker="caller", text="line",
                                       mood="calm", mood_score=0.1,
                                       at=started + timedelta(seconds=20 + n * step)))


def cpu_per_call(repeats: int) -> dict[str, Any]:
    from store.migrate import upgrade

    workdir = Path(tempfile.mkdtemp(prefix="bench-analytics-cpu-"))
    url = f"sqlite:///{workdir / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    result: dict[str, Any] = {}
    with db.session() as session:
        customer = Customer(name="Bench Caller")
        session.add(customer)
        session.flush()
        customer_id = customer.id
    try:
        for name, (seconds, lines) in SIZES.items():
            cpu, wall = [], []
            for n in range(repeats):
                call_id = f"{seconds}-{n}"
                scripted(db, call_id, seconds, lines)
                with db.session() as session:
                    session.add(Interaction(customer_id=customer_id, call_id=call_id,
                                            outcome="resolved", notes="explained the bill"))
                begun = time.perf_counter()
                assert analyse_call(db, call_id)
                wall.append((time.perf_counter() - begun) * 1000)
                with db.session() as session:
                    row = session.get(CallAnalytics, call_id)
                    assert row is not None
                    cpu.append(row.cpu_seconds * 1000)
            result[name] = {"cpu": summary_ms(cpu, 2), "wall": summary_ms(wall, 2)}
    finally:
        db.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def print_tables(result: dict[str, Any]) -> None:
    real = result.get("real_calls")
    if real:
        print(f"hang-up to analytics and summary stored, {real['calls']} real calls "
              f"({len(real['failed_calls'])} failed)")
        rows = [[name, s["n"], s.get("median_ms"), s.get("p95_ms"), s.get("max_ms")]
                for name, s in (("hang-up to stored", real["hangup_to_stored"]),
                                ("analysis CPU (ms)", real["cpu_ms_real_calls"])) if s["n"]]
        print(table(("", "n", "median ms", "p95 ms", "max"), rows))
        for failure in real["failed_calls"]:
            print("  failed:", failure)
    rows = [[name, f["cpu"]["n"], f["cpu"]["median_ms"], f["cpu"]["p95_ms"],
             f["wall"]["median_ms"], f["wall"]["p95_ms"]]
            for name, f in result["cpu_per_call"].items()]
    print(table(("scripted call", "n", "CPU median ms", "CPU p95", "wall median", "wall p95"),
                rows, 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench analytics",
        description="Time from hang-up to a call's analytics and summary stored (real calls), "
        "and the CPU one call's analysis takes (scripted calls of three sizes).",
    )
    parser.add_argument("--calls", type=int, default=10, help="real calls (0: none)")
    parser.add_argument("--repeats", type=int, default=30, help="scripted calls per size")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "analytics", "machine": machine(),
        "at": datetime.now().isoformat(timespec="seconds"),
        "cpu_per_call": cpu_per_call(args.repeats),
    }
    if args.calls:
        result["real_calls"] = real_calls(args.calls)
    print_tables(result)
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
