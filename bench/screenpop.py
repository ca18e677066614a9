"""Screen-pop latency: from a worker emitting ``agent.ringing`` to the profile visible in Chromium.

The console runs as in production (waitress, threaded) on a seeded SQLite database and follows
a stand-in worker's ``/events`` stream (the real worker's HTTP seam). Headless Chromium signs
in as an agent; the page records, in a ``requestAnimationFrame`` after rendering each pop, the
wall-clock time ``performance.timeOrigin + performance.now()``; the latency of one pop is that
minus the event's ``at`` timestamp. Prints a table and writes JSON.

Run: ``.venv/bin/python -m bench.screenpop --events 200``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import statistics
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

from console.app import create_app  # noqa: E402
from store.db import Database  # noqa: E402
from store.demo import seed_demo  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import Agent, Customer  # noqa: E402
from tests.console.fake_worker import FakeWorker  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "screenpop.json"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "min_ms": round(min(values), 2),
        "median_ms": round(statistics.median(values), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
    }


def start_console(db_url: str, server: str) -> tuple[Any, str, Any]:
    app = create_app({"DATABASE_URL": db_url, "WORKER_FEED": True, "WORKER_REFRESH_SECONDS": 0.2})
    if server == "waitress":
        from waitress.server import create_server

        wsgi = create_server(app, host="127.0.0.1", port=0, threads=16)
        threading.Thread(target=wsgi.run, daemon=True).start()
        return wsgi, f"http://127.0.0.1:{wsgi.effective_port}", app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    wsgi = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=wsgi.serve_forever, daemon=True).start()
    return wsgi, f"http://127.0.0.1:{wsgi.server_port}", app


def stop_console(wsgi: Any, server: str, app: Any) -> None:
    app.extensions["centralino.worker_feed"].stop()
    if server == "waitress":
        wsgi.close()
    else:
        wsgi.shutdown()
        wsgi.server_close()


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
            page.goto(f"{url}/login")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", credentials.console["alice"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/agent/")
            page.wait_for_selector("body[data-live=yes]")
            page.click("#state-form button[data-state=available]")
            page.wait_for_selector("#state[data-state=available]")
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
        "server": server,
        "events": events,
        "gap_ms": gap_ms,
        "machine": {"python": platform.python_version(), "cpu_count": _cpus()},
        "at": datetime.now().isoformat(timespec="seconds"),
        "all": summary(latencies),
        "known_callers": summary(known) if known else None,
    }


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.screenpop",
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
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    servers = ["waitress", "werkzeug"] if args.server == "both" else [args.server]
    results = [run(args.events, args.gap_ms, server, args.unknown_every) for server in servers]
    print(f"{'server':<10}{'callers':<9}{'n':>6}{'median':>9}{'p95':>9}{'p99':>9}{'max':>9}  (ms)")
    for result in results:
        for label, stats in (("all", result["all"]), ("known", result["known_callers"])):
            if stats:
                print(
                    f"{result['server']:<10}{label:<9}{stats['n']:>6}{stats['median_ms']:>9}"
                    f"{stats['p95_ms']:>9}{stats['p99_ms']:>9}{stats['max_ms']:>9}"
                )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"benchmark": "screenpop", "runs": results}, indent=2) + "\n")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
