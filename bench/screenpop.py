"""Screen-pop latency: from a worker emitting ``agent.ringing`` to the profile visible in Chromium.

The console runs as in production (waitress, threaded) on a seeded SQLite database and follows
a stand-in worker's ``/events`` stream (the real worker's HTTP seam). Headless Chromium signs
in as an agent; the page records, in a ``requestAnimationFrame`` after rendering each pop, the
wall-clock time ``performance.timeOrigin + performance.now()``; the latency of one pop is that
minus the event's ``at`` timestamp. Prints a table and writes JSON.

Run: ``.venv/bin/python -m bench screenpop --events 200``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/screenpop.py``
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.report import machine, result_path, summary_ms, table, write_result  # noqa: E402
from console.app import create_app  # noqa: E402
from console.testing.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    become_available,
    sign_in_agent,
)
from console.testing.fake_worker import TOKEN, FakeWorker  # noqa: E402
from store.db import Database  # noqa: E402
from store.demo import seed_demo  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import Agent, Customer  # noqa: E402

DEFAULT_OUTPUT = result_path("screenpop")


def start_console(db_url: str, server: str, token: str = TOKEN) -> tuple[Any, str, Any]:
    """The console on a free loopback port, reading the workers with *token* (theirs)."""
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "WORKER_FEED": True,
            "WORKER_REFRESH_SECONDS": 0.2,
            "WORKER_TOKEN": token,
        }
    )
    if server == "waitress":
        from waitress.server import TcpWSGIServer, create_server

        wsgi = create_server(app, host="127.0.0.1", port=0, threads=16)
        assert isinstance(wsgi, TcpWSGIServer)  # one host and port: one TCP listener
        threading.Thread(target=wsgi.run, daemon=True).start()
        return wsgi, f"http://127.0.0.1:{wsgi.getsockname()[1]}", app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    development = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=development.serve_forever, daemon=True).start()
    return development, f"http://127.0.0.1:{development.server_port}", app


def stop_console(wsgi: Any, server: str, app: Any) -> None:
    app.extensions["centralino.worker_feed"].stop()
    if server == "waitress":
        wsgi.close()
    else:
        wsgi.shutdown()
        wsgi.server_close()


def sign_in_available(page: Any, url: str, username: str, password: str) -> None:
    sign_in_agent(page, url, username, password)
    become_available(page)


def run(events: int, gap_ms: float, server: str, unknown_every: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="screenpop-"))
    db_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    upgrade(db_url)
    db = Database(db_url)
    with db.session() as session:
        credentials = seed_demo(session, "centralino.bench")
        assert credentials is not None
        agent_id = session.scalar(select(Agent.id).where(Agent.username == "alice"))
        customers = list(session.scalars(select(Customer.id)))
    worker = FakeWorker("bench-worker").start()
    worker.register(db)
    wsgi, url, app = start_console(db_url, server)
    latencies: list[float] = []
    known: list[float] = []
    try:
        if not worker.connected.wait(10):
            raise RuntimeError("the console did not subscribe to the worker's events")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_context().new_page()
            sign_in_available(page, url, "alice", credentials.console["alice"])
            for n in range(events):
                unknown = unknown_every > 0 and n % unknown_every == unknown_every - 1
                call_id = str(uuid.uuid4())
                sent = worker.emit(
                    {
                        "type": "agent.ringing",
                        "call_id": call_id,
                        "agent_id": agent_id,
                        "customer_id": None if unknown else customers[n % len(customers)],
                        "caller": "+390212345678",
                        "call_data": {"greeting_transcript": "fine thanks", "mood": "calm"},
                    }
                )
                page.wait_for_selector(f"#pop[data-call-id='{call_id}'][data-shown-ms]")
                shown_ms = float(page.get_attribute("#pop", "data-shown-ms") or 0)
                at_ms = datetime.fromisoformat(sent["at"]).timestamp() * 1000
                latencies.append(shown_ms - at_ms)
                if not unknown:
                    known.append(shown_ms - at_ms)
                time.sleep(gap_ms / 1000)
            browser.close()
    finally:
        stop_console(wsgi, server, app)
        worker.stop()
        db.dispose()
        app.extensions["centralino.db"].dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "screenpop",
        "measured": "worker event emitted -> profile rendered (rAF) in Chromium",
        "source": "fake",
        "server": server,
        "events": events,
        "gap_ms": gap_ms,
        "machine": machine(),
        "at": datetime.now().isoformat(timespec="seconds"),
        "all": summary_ms(latencies, 2),
        "known_callers": summary_ms(known, 2) if known else None,
    }


def run_real(calls: int, server: str) -> dict[str, Any]:
    """Real SIP calls through a real switch worker (its greeting, then the agent's pop).

    Two figures per call: from the worker's ``agent.ringing`` to the profile visible, and
    from the caller's INVITE to the profile visible (which includes the IVR's greeting).
    """
    from playwright.sync_api import sync_playwright

    from store.models import AgentState, Device, DeviceKind
    from store.passwords import hash_password
    from telephony.testing.deployment import Deployment

    workdir = Path(tempfile.mkdtemp(prefix="screenpop-real-"))
    switch = Deployment(workdir)
    with switch.db.session() as session:
        session.add(
            Agent(
                name="Bench Agent",
                username="bench",
                password_hash=hash_password("bench-password"),
                state=AgentState.LOGGED_OUT,
                device=Device(
                    kind=DeviceKind.HEADSET, extension="1001", sip_username="1001", ha1="x"
                ),
            )
        )
    from_event: list[float] = []
    from_invite: list[float] = []
    wsgi = app = None
    try:
        headset = switch.phone("headset", auto_answer=True, record=False)
        worker = switch.worker(1, switch.config(agent_uris={"1001": headset.uri}))
        wsgi, url, app = start_console(switch.db_url, server)
        caller = switch.phone("caller", record=False)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_context().new_page()
            sign_in_available(page, url, "bench", "bench-password")
            for _ in range(calls):
                invite_ms = time.time() * 1000
                call = caller.call(f"sip:800@{worker.sip_uri_host}")
                page.wait_for_selector("#pop[data-shown-ms]:not([hidden])", timeout=60_000)
                pop = page.evaluate("window.centralinoPops[window.centralinoPops.length - 1]")
                shown_ms = float(pop["shown_ms"])
                at_ms = datetime.fromisoformat(pop["at"]).timestamp() * 1000
                from_event.append(shown_ms - at_ms)
                from_invite.append(shown_ms - invite_ms)
                caller.hangup(call)
                page.wait_for_selector("#state[data-state=wrap_up]", timeout=15_000)
                page.click("#wrapup-form button[type=submit]")
                page.wait_for_selector("#state[data-state=available]")
            browser.close()
    finally:
        if wsgi is not None and app is not None:
            stop_console(wsgi, server, app)
            app.extensions["centralino.db"].dispose()
        switch.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "screenpop",
        "measured": "real worker: agent.ringing -> visible, and caller INVITE -> visible",
        "source": "real",
        "server": server,
        "events": calls,
        "machine": machine(),
        "at": datetime.now().isoformat(timespec="seconds"),
        "all": summary_ms(from_event, 2),
        "invite_to_visible": summary_ms(from_invite, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench screenpop",
        description="Measure screen-pop latency (worker event -> profile visible in Chromium).",
    )
    parser.add_argument("--events", type=int, default=200, help="screen pops per server")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="pause between calls")
    parser.add_argument(
        "--server",
        choices=["both", "waitress", "werkzeug"],
        default="both",
        help="WSGI server(s) to compare (waitress is what `centralino console` runs)",
    )
    parser.add_argument(
        "--unknown-every", type=int, default=5, help="every Nth caller has no profile (0: none)"
    )
    parser.add_argument(
        "--real-calls",
        type=int,
        default=0,
        help="also place this many real SIP calls through a real switch worker (waitress)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    servers = ["waitress", "werkzeug"] if args.server == "both" else [args.server]
    results = [run(args.events, args.gap_ms, server, args.unknown_every) for server in servers]
    if args.real_calls:
        results.append(run_real(args.real_calls, "waitress"))
    rows = []
    sources = (("event", "all"), ("known", "known_callers"), ("INVITE", "invite_to_visible"))
    for result in results:
        name = result["server"] + ("*" if result["source"] == "real" else "")
        for label, key in sources:
            stats = result.get(key)
            if stats and stats["n"]:
                rows.append(
                    [name, label, stats["n"], stats["median_ms"], stats["p95_ms"], stats["p99_ms"],
                     stats["max_ms"]]
                )  # fmt: skip
    print(table(("server", "from", "n", "median ms", "p95", "p99", "max"), rows, digits=2))
    if args.real_calls:
        print("* real switch worker and SIP phones; INVITE includes the IVR greeting")
    write_result(args.output, {"benchmark": "screenpop", "runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
