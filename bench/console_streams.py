"""Console under open browser streams: sign-in page latency, memory and threads of the real
console process (`centralino console`, waitress) as more event streams stay open.

Each stream is a signed-in session's ``GET /agent/events`` held on its own socket, as a
browser's EventSource holds it. For each level the bench opens streams up to that many, then
times ``GET /login`` (each on a new connection) and reads the process's RSS and thread count
from ``/proc``. Streams beyond ``SSE_MAX_STREAMS`` are answered 503 and counted as refused.
The demo people's passwords are hashed at a low scrypt cost here: sign-in cost is not what is
measured (``tests/store/test_passwords.py`` covers OWASP's).

Run: ``.venv/bin/python -m bench console_streams --levels 0 50 100 200 300``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.report import machine, result_path, summary_ms, table, write_result
from bench.resources import rss_kib, thread_count
from console.testing.console_process import ConsoleProcess, RawStream
from store.db import Database
from store.demo import seed_demo
from store.migrate import upgrade
from store.models import Agent
from store.passwords import ScryptCost, hash_password

LOW_COST = ScryptCost(2**10, 8, 1)


def _seeded(workdir: Path) -> tuple[str, str]:
    url = f"sqlite:///{workdir / 'bench.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        credentials = seed_demo(session, "centralino.bench")
        assert credentials is not None
        password = credentials.console["alice"]
        session.execute(
            update(Agent)
            .where(Agent.username == "alice")
            .values(password_hash=hash_password(password, LOW_COST))
        )
    db.dispose()
    return url, password


def _login_latencies(console: ConsoleProcess, samples: int) -> list[float]:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        status, _, _ = console.get("/login", timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return latencies


def run(levels: list[int], samples: int, max_streams: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="console-streams-"))
    url, password = _seeded(workdir)
    console = ConsoleProcess(
        workdir,
        url,
        {
            "password_cost": [LOW_COST.n, LOW_COST.r, LOW_COST.p],
            "sse_max_streams": max_streams,
            "sse_keepalive_seconds": 15.0,
        },
    ).start()
    assert console.process is not None
    streams: list[RawStream] = []
    refused = 0
    rows: list[dict[str, Any]] = []
    try:
        for level in sorted(levels):
            while len(streams) + refused < level:
                stream = RawStream(console.port, console.sign_in("alice", password))
                stream.read_until(b"\r\n\r\n")
                if stream.status == 200:
                    streams.append(stream)
                else:
                    refused += 1
                    stream.close()
            pid = console.process.pid
            rows.append(
                {
                    "streams_asked": level,
                    "streams_open": len(streams),
                    "refused_503": refused,
                    "login": summary_ms(_login_latencies(console, samples)),
                    "rss_mib": round(rss_kib(pid) / 1024, 1),
                    "threads": thread_count(pid),
                }
            )
    finally:
        for stream in streams:
            stream.close()
        console.stop()
    return {
        "benchmark": "console_streams",
        "measured": "GET /login latency, RSS and threads of `centralino console` with N streams",
        "sse_max_streams": max_streams,
        "samples_per_level": samples,
        "machine": machine(),
        "levels": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench console_streams",
        description="Sign-in latency, memory and threads of the console with open streams.",
    )
    parser.add_argument("--levels", type=int, nargs="+", default=[0, 50, 100, 200, 300])
    parser.add_argument("--samples", type=int, default=20, help="GET /login per level")
    parser.add_argument("--max-streams", type=int, default=256, help="SSE_MAX_STREAMS")
    parser.add_argument("--output", type=Path, default=result_path("console_streams"))
    args = parser.parse_args(argv)
    result = run(args.levels, args.samples, args.max_streams)
    print(
        table(
            ["streams asked", "open", "503", "login median ms", "p95 ms", "RSS MiB", "threads"],
            [
                [
                    row["streams_asked"],
                    row["streams_open"],
                    row["refused_503"],
                    row["login"]["median_ms"],
                    row["login"]["p95_ms"],
                    row["rss_mib"],
                    row["threads"],
                ]
                for row in result["levels"]
            ],
        )
    )
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
