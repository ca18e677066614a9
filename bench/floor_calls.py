"""Alert latency over real calls: from the end of the caller's words to the alert visible on
the supervisor's floor in Chromium.

The path is the product's: Kamailio and a switch worker with the IVR, the speech service with
the Vosk ``ko`` model, pjsua2 test phones, the worker's floor watch writing the alert to the
store, the console (waitress) pushing the floor over SSE, headless Chromium signed in as a
supervisor. Each call: the caller dials the Korean support number, presses 0 at the greeting,
is bridged to the agent, then plays espeak-ng Korean speech containing the watched phrase 니다
(the word the model hears in that rendering, as in tests/telephony/test_floor_calls.py).

The speech is the IVR scene's three-sentence answer, and the model already hears the phrase in
its second sentence: timed from the WAV's end, the alert came a second *before* the speech
"ended". So each call is timed from the end of the sentence that raised it: the WAV's voiced
runs (split at 250 ms of quiet, as the worker's VAD splits utterances) are found once; the
caller's final that carried the phrase (the first before the alert) says, by the end of its
words on the recogniser's clock, which run it was, and that run's end in the WAV is the end
of the caller's speech. ``raised_by_sentence`` lists which sentence it was per call. The page
notes (MutationObserver) the wall time each alert first appears. Two figures per call:
``speech_end_to_alert_stored`` (the worker's ``alert`` event ``at``) and
``speech_end_to_alert_visible`` (the browser), both including the recogniser's final.

Run: ``.venv/bin/python -m bench floor_calls --calls 8``; writes ``bench/results/floor_calls.json``.
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
if str(ROOT) not in sys.path:  # also runnable as ``python bench/floor_calls.py``
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.ivr import at_ms  # noqa: E402
from bench.report import machine, result_path, summary_ms, table, write_result  # noqa: E402
from bench.screenpop import start_console, stop_console  # noqa: E402

DEFAULT_OUTPUT = result_path("floor_calls")
WATCHED = "니다"
PASSWORD = "bench-supervisor-password-1"
OBSERVE = """() => {
  window.__alerts = {};
  const note = () => {
    for (const li of document.querySelectorAll('#alerts li[data-alert-id]')) {
      if (!(li.dataset.alertId in window.__alerts))
        window.__alerts[li.dataset.alertId] = performance.timeOrigin + performance.now();
    }
  };
  note();
  new MutationObserver(note).observe(document.getElementById('alerts'),
    { childList: true, subtree: true });
}"""


def add_supervisor(db: Any) -> None:
    from store.models import Agent, AgentState, Role
    from store.passwords import hash_password
    from store.supervision import WatchedPhrase

    with db.session() as session:
        session.add(
            Agent(
                name="Bench Supervisor",
                username="benchsup",
                password_hash=hash_password(PASSWORD),
                role=Role.SUPERVISOR,
                state=AgentState.LOGGED_OUT,
            )
        )
        session.add(WatchedPhrase(locale="ko", phrase=WATCHED))


def open_floor(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "benchsup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/supervisor/")
    page.wait_for_selector("#floor[data-live=yes]")
    page.evaluate(OBSERVE)


QUIET_RUN_MS = 250


def sentence_ends(wav: Path) -> list[float]:
    """Milliseconds at which each voiced run of *wav* ends (runs split by QUIET_RUN_MS)."""
    from ivr.prompts import read_wav

    samples, rate = read_wav(wav)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    if not loud.size:
        return []
    gaps = np.flatnonzero(np.diff(loud) > rate * QUIET_RUN_MS // 1000)
    return [float((loud[i] + 1) * 1000 / rate) for i in gaps] + [
        float((loud[-1] + 1) * 1000 / rate)]


def one_call(scene: Any, page: Any) -> dict[str, float]:
    from telephony.testing.workers import wait_until

    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing", timeout=25)
    phone.dtmf(call, "0")
    scene.at_agent(call_id)
    ends = sentence_ends(scene.answer_wav)
    played = time.time() * 1000
    phone.play(call, scene.answer_wav)
    alert = wait_until(
        lambda: next((e for e in scene.seen("alert", call_id) if e["kind"] == "topic"), None),
        40,
        "the topic alert",
    )
    page.wait_for_function(
        f"window.__alerts && ('{alert['id']}' in window.__alerts)", timeout=20_000
    )
    shown = float(page.evaluate(f"window.__alerts['{alert['id']}']"))
    scene.hang_up(phone, call, call_id)
    stored = at_ms(alert)
    # the final that carried the phrase says which sentence it was (its words' end on the
    # recogniser's clock); the sentence's end in the WAV is when the caller stopped saying it
    trigger = next(
        (e for e in scene.seen("transcript.final", call_id)
         if e["speaker"] == "caller" and WATCHED in e["text"] and at_ms(e) <= stored),
        None,
    )
    if trigger is None:
        raise RuntimeError(f"no final with {WATCHED!r} before the alert")
    heard_end = (trigger["spoken_at"] - trigger["start"] + trigger["end"]) * 1000 - played
    sentence = min(range(len(ends)), key=lambda n: abs(ends[n] - heard_end))
    speech_end = played + ends[sentence]
    return {
        "sentence": float(sentence + 1),
        "speech_end_to_alert_stored": stored - speech_end,
        "speech_end_to_alert_visible": shown - speech_end,
    }


def run(calls: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from console.testing.browser import CHROMIUM, CHROMIUM_ARGS

    harness = importlib.import_module("tests.telephony.test_ivr_calls")  # the tests' scene
    end_calls, ivr_scene = harness.end_calls, harness.ivr_scene

    samples: dict[str, list[float]] = {}
    sentences: list[int] = []
    failures: list[str] = []
    with ivr_scene(Path(tempfile.mkdtemp(prefix="bench-floor-"))) as scene:
        add_supervisor(scene.deployment.db)
        wsgi, url, app = start_console(
            scene.deployment.db.url, "waitress", scene.deployment.token)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                # the harness's own polling is eval'd: CSP off for it (the page is unchanged)
                page = browser.new_context(bypass_csp=True).new_page()
                open_floor(page, url)
                for n in range(calls):
                    try:
                        timed = one_call(scene, page)
                        sentences.append(int(timed.pop("sentence")))
                        for key, value in timed.items():
                            samples.setdefault(key, []).append(value)
                    except Exception as error:  # counted and reported
                        failures.append(f"call {n}: {error}")
                        end_calls(scene)
                browser.close()
        finally:
            stop_console(wsgi, "waitress", app)
    return {
        "calls": calls,
        "failures": failures,
        "metrics": {key: summary_ms(values) for key, values in samples.items()},
        "raised_by_sentence": sentences,
        "path": "Kamailio + switch worker (IVR) + speech service (Vosk ko) + floor watch + "
        "console SSE (FLOOR_POLL_SECONDS 0.5) + Chromium",
        "goal_p95_ms": 3000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench floor_calls",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    result = run(args.calls)
    result["machine"] = machine()
    write_result(args.output, result)
    rows = [
        [key, m["n"], m["median_ms"], m["p95_ms"], m["max_ms"]]
        for key, m in result["metrics"].items()
    ]
    print(table(["metric", "n", "median ms", "p95 ms", "max ms"], rows))
    if result["failures"]:
        print("failures:", *result["failures"], sep="\n  ")
    return 0 if not result["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
