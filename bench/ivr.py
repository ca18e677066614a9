"""IVR latencies with real SIP calls: a scripted caller through a real switch worker and Vosk.

Each call: a pjsua2 test phone dials the support number (Korean locale); the worker's IVR greets
it; the phone answers the greeting with espeak-ng Korean speech, talks over the account
question (barge-in), keys the account number (RFC 4733) and is bridged to an agent's phone.
Times come from the worker's event stream (``at``, wall clock) and the bench's own wall clock
when it tells the phone to act, all on one machine:

- ``invite_to_first_prompt``: INVITE sent -> the greeting starts playing (``ivr.prompt``);
- ``barge_in``: the caller's speech onset (play command + the WAV's leading silence) -> the
  prompt stopped (``ivr.prompt`` state ``stopped``);
- ``end_of_utterance_to_result``: the VAD's end of utterance (``ivr.voice`` ended, which itself
  comes 700 ms after the last voiced frame) -> the turn's last final transcript
  (``transcript.final``; negative: the text was there before the turn ended); and
  ``speech_end_to_result``: the end of the caller's speech (play command + the WAV's voiced
  length) -> that final (the listener ends the recognizer's utterance at each pause, so one
  answer of three sentences gives several finals: ``finals_per_answer``, not in ms);
- ``invite_to_agent``: INVITE sent -> the caller bridged to the agent (``bridged``).

Run: ``.venv/bin/python -m bench ivr --calls 10``; writes ``bench/results/ivr.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/ivr.py``
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import update  # noqa: E402

from bench.report import machine, result_path, summary_ms, table, write_result  # noqa: E402
from bench.workdir import scratch  # noqa: E402
from ivr.prompts import read_wav, render_prompt  # noqa: E402
from store.models import Account, Agent, AgentState, Customer, SupportNumber  # noqa: E402

DEFAULT_OUTPUT = result_path("ivr")
ACCOUNT = "12345678"
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."
METRICS = (
    "invite_to_first_prompt",
    "barge_in",
    "end_of_utterance_to_result",
    "speech_end_to_result",
    "invite_to_agent",
    "finals_per_answer",
)


def at_ms(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp() * 1000


def voiced_span(wav: Path) -> tuple[float, float]:
    """Milliseconds of leading silence and the end of the last voiced sample of *wav*."""
    samples, rate = read_wav(wav)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    if not loud.size:
        return 0.0, 0.0
    return loud[0] * 1000 / rate, (loud[-1] + 1) * 1000 / rate


def run(calls: int) -> dict[str, Any]:
    from telephony.testing.deployment import SUPPORT, Deployment
    from telephony.testing.speech import SpeechServiceProcess

    with scratch("bench-ivr-") as workdir:
        setup = Deployment(workdir)
        speech = SpeechServiceProcess(workdir, token=setup.token)  # the workers' token
        speech.start()
        samples: dict[str, list[float]] = {name: [] for name in METRICS}
        failures: list[str] = []
        try:
            with setup.db.session() as session:
                session.execute(
                    update(SupportNumber).where(SupportNumber.number == SUPPORT).values(locale="ko")
                )
                customer = Customer(name="Bench Caller", locale="ko")
                session.add(customer)
                session.flush()
                session.add(Account(number=ACCOUNT, customer_id=customer.id))
            setup.add_agent("1001")
            agent = setup.phone("agent1001", auto_answer=True, record=False)
            config = setup.config(
                agent_uris={"1001": agent.uri},
                flow="telephony.callflow.ivr:IvrFlows",
                speech=("127.0.0.1", speech.port),
            )
            worker = setup.worker(1, config)
            events = worker.events()
            caller = setup.phone("caller", record=False)
            answer = render_prompt(ANSWER, "ko", workdir / "speech", 8000)
            lead_ms, voiced_end_ms = voiced_span(answer)
            for number in range(calls):
                try:
                    one_call(caller, worker, events, answer, lead_ms, voiced_end_ms, samples)
                except AssertionError as error:
                    failures.append(f"call {number + 1}: {error}"[:300])
                with setup.db.session() as session:
                    session.execute(
                        update(Agent).values(state=AgentState.AVAILABLE, claimed_by_call=None)
                    )
        finally:
            setup.close()
            speech.stop()
        return {
            "benchmark": "ivr",
            "measured": "real SIP calls through one switch worker, the IVR and the Vosk service",
            "calls": calls,
            "failed_calls": failures,
            "machine": machine(),
            "at": datetime.now().isoformat(timespec="seconds"),
            **{name: summary_ms(values) for name, values in samples.items()},
        }


def one_call(
    caller: Any,
    worker: Any,
    events: Any,
    answer: Path,
    lead_ms: float,
    voiced_end_ms: float,
    samples: dict[str, list[float]],
) -> None:
    invite_ms = time.time() * 1000
    call = caller.call(f"sip:800@{worker.sip_uri_host}")
    call_id = events.wait_for("answered", timeout=15)["call_id"]

    def wait(kind: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = events.wait_for(kind, timeout=timeout, call_id=call_id, **fields)
        return event

    try:
        greeting = wait("ivr.prompt", prompt="greeting", state="playing")
        samples["invite_to_first_prompt"].append(at_ms(greeting) - invite_ms)
        wait("ivr.prompt", prompt="greeting", state="finished")
        spoken_ms = time.time() * 1000
        caller.play(call, answer)
        ended = wait("ivr.voice", state="ended")
        asked = wait("ivr.prompt", prompt="identify", state="playing")
        # the recognizer finishes at each pause of the answer: the last final of the turn is
        # the one that follows the end of the caller's speech
        finals = [
            e
            for e in list(events.events)
            if e.get("type") == "transcript.final"
            and e.get("call_id") == call_id
            and e.get("speaker", "caller") == "caller"
            and spoken_ms <= at_ms(e) <= at_ms(asked)
        ]
        assert finals, "no final transcript of the answer"
        final = finals[-1]
        samples["end_of_utterance_to_result"].append(at_ms(final) - at_ms(ended))
        samples["speech_end_to_result"].append(at_ms(final) - (spoken_ms + voiced_end_ms))
        samples["finals_per_answer"].append(float(len(finals)))
        barge_ms = time.time() * 1000
        caller.play(call, answer)
        stopped = wait("ivr.prompt", prompt="identify", state="stopped")
        samples["barge_in"].append(at_ms(stopped) - (barge_ms + lead_ms))
        caller.silence(call)
        caller.dtmf(call, ACCOUNT + "#")
        bridged = wait("bridged")
        samples["invite_to_agent"].append(at_ms(bridged) - invite_ms)
    finally:
        caller.hangup(call)
        caller.wait_for("state", call=call, state="disconnected", timeout=10)
        events.wait_for("ended", timeout=10, call_id=call_id)


def print_table(result: dict[str, Any]) -> None:
    print(f"IVR over {result['calls']} real calls ({len(result['failed_calls'])} failed)")
    rows = [
        [name, row["n"], row["median_ms"], row["p95_ms"], row["min_ms"], row["max_ms"]]
        for name, row in ((name, result[name]) for name in METRICS)
        if row["n"]
    ]
    print(table(("metric", "n", "median ms", "p95 ms", "min", "max"), rows))
    for failure in result["failed_calls"]:
        print("  failed:", failure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench ivr",
        description="Measure IVR latencies (first prompt, barge-in, end of utterance to result, "
        "time to an agent) over real SIP calls through a switch worker and the speech service.",
    )
    parser.add_argument("--calls", type=int, default=10, help="scripted calls (default 10)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    args = parser.parse_args(argv)
    result = run(args.calls)
    print_table(result)
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
