"""Bridged calls through the Kamailio edge and switch workers versus direct pjsua2 calls."""

# What is measured and how: docs/benchmarks.md, section "Calls". Run it with
# ``.venv/bin/python -m bench calls`` (under 2 minutes; ``--steps 1,2,4,8,12`` ramps
# further). Loopback only; every process it starts is stopped by its pid at the end.

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bench.report import machine, percentile, result_path, table, write_result

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/calls.py``
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from telephony.testing.deployment import Deployment
    from telephony.testing.edge import EdgeUnderTest
    from telephony.testing.phones import Phone
    from telephony.testing.workers import WorkerProcess

T = TypeVar("T")
DEFAULT_OUTPUT = result_path("calls")
DEFAULT_STEPS = (1, 2, 4, 6)
RATE = 8000
FRAME = 160  # samples in a 20 ms frame
CALLS_PER_PHONE = 4  # pjsua2 wheel: PJSUA_MAX_CALLS
AGENT_TONE = 1010.0  # 20.2 cycles per frame: a lost or repeated frame shifts the phase by 72°
CALLER_TONE = 1510.0
TRIM_FRAMES = 25  # ignore the tone's first and last 500 ms (start-up, hang-up)
LOST_LEVEL = 0.5  # a frame whose tone amplitude is below half the call's typical one is lost
GLITCH_PHASE = 0.35  # radians of unexpected phase step between frames (about 20°)
GLITCH_RESIDUAL = 0.05  # share of a frame's energy that is not the tone (-13 dB)
FLOW = "bench.callflow:straight_to_agent"


# -- /proc ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of *pid* (every thread), 0 when it is gone."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def cpu_seconds_of(stat: Path) -> float:
    """utime + stime from a ``/proc`` stat file (a process's or one thread's)."""
    try:
        text = stat.read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def process_tree(root: int) -> list[int]:
    """*root* and all its descendants (Kamailio forks its workers)."""
    parents = {
        int(p.name): parent_of(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()
    }
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def proc_kib(pid: int, name: str, table: str = "status") -> int:
    """A ``kB`` line of ``/proc/<pid>/status`` (VmRSS) or ``smaps_rollup`` (Pss, Rss)."""
    try:
        for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid: int) -> int:
    return proc_kib(pid, "VmRSS")


def pss_kib(pid: int) -> int:
    return proc_kib(pid, "Pss", "smaps_rollup")


def total_cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def thread_label(pid: int, tid: int, comm: str) -> str:
    """Python threads share the name ``python``; the main one is the worker's pjsua2 loop."""
    if tid == pid:
        return "main"
    return "other python" if comm == "python" else comm


def threads_cpu(pids: Sequence[int]) -> dict[str, float]:
    """CPU seconds per thread label, summed over *pids* (pjmedia names its C threads)."""
    totals: dict[str, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                comm = (task / "comm").read_text().strip()
                label = thread_label(pid, int(task.name), comm)
                totals[label] = totals.get(label, 0.0) + cpu_seconds_of(task / "stat")
    return totals


@dataclass
class CpuWindow:
    """CPU seconds spent by a set of processes over a wall-clock window."""

    pids: Callable[[], list[int]]
    started: float = 0.0
    cpu0: float = 0.0
    threads0: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.started, self.cpu0 = time.monotonic(), total_cpu(self.pids())
        self.threads0 = threads_cpu(self.pids())

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def cores(self) -> float:
        """Mean cores busy since `start`."""
        return (total_cpu(self.pids()) - self.cpu0) / self.elapsed()

    def thread_cores(self) -> dict[str, float]:
        """Mean cores busy since `start`, per thread label."""
        now, wall = threads_cpu(self.pids()), self.elapsed()
        return {label: (cpu - self.threads0.get(label, 0.0)) / wall for label, cpu in now.items()}


# -- tone analysis ----------------------------------------------------------------------------
@dataclass
class FrameCheck:
    frames: int = 0
    lost: int = 0
    glitches: int = 0

    def add(self, other: FrameCheck) -> None:
        self.frames += other.frames
        self.lost += other.lost
        self.glitches += other.glitches


def tone_fit(samples: np.ndarray, freq: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 20 ms frame: amplitude, phase (against absolute time) and the residual's energy share
    of a least-squares fit of one sinusoid at *freq*."""
    count = len(samples) // FRAME
    x = samples[: count * FRAME].astype(np.float64).reshape(count, FRAME)
    n = np.arange(count * FRAME, dtype=np.float64).reshape(count, FRAME)
    c, s = np.cos(2 * np.pi * freq * n / RATE), np.sin(2 * np.pi * freq * n / RATE)
    scc, sss, scs = (c * c).sum(1), (s * s).sum(1), (c * s).sum(1)
    sxc, sxs = (x * c).sum(1), (x * s).sum(1)
    det = scc * sss - scs * scs
    a, b = (sxc * sss - sxs * scs) / det, (sxs * scc - sxc * scs) / det
    residual = ((x - a[:, None] * c - b[:, None] * s) ** 2).sum(1)
    energy = np.maximum((x * x).sum(1), 1e-9)
    return np.hypot(a, b), np.arctan2(b, a), residual / energy


def check_frames(samples: np.ndarray, freq: float, trim: int = TRIM_FRAMES) -> FrameCheck:
    """Lost frames and glitches of a looping tone heard over a call (see module docstring)."""
    if len(samples) < FRAME * (2 * trim + 2):
        return FrameCheck()
    amplitude, phase, residual = tone_fit(samples, freq)
    typical = float(np.percentile(amplitude, 90))
    on = np.flatnonzero(amplitude > LOST_LEVEL * typical)
    if typical <= 0 or len(on) < 2 * trim + 2:
        return FrameCheck()
    span = slice(int(on[0]) + trim, int(on[-1]) + 1 - trim)
    amp, ph, res = amplitude[span], phase[span], residual[span]
    lost = amp < LOST_LEVEL * typical
    step = np.abs(np.angle(np.exp(1j * np.diff(ph))))
    jump = np.concatenate([[False], (step > GLITCH_PHASE) & ~lost[1:] & ~lost[:-1]])
    glitch = ~lost & (jump | (res > GLITCH_RESIDUAL))
    return FrameCheck(len(amp), int(lost.sum()), int(glitch.sum()))


def check_recording(path: str, freq: float) -> FrameCheck:
    from telephony.testing.audio import recording

    return check_frames(recording(path, timeout=5.0), freq)


# -- results ----------------------------------------------------------------------------------
@dataclass
class StepResult:
    path: str
    calls: int
    bridged: int = 0
    setup_ms: list[float] = field(default_factory=list)
    setup_rate: float = 0.0
    frames: FrameCheck = field(default_factory=FrameCheck)
    tap_frames_dropped: int = 0
    cores_busy: float = 0.0
    cpu_ms_per_call_second: float = 0.0
    phones_cpu_ms_per_call_second: float = 0.0
    rss_kib_per_call: float = 0.0
    threads_ms_per_call_second: dict[str, float] = field(default_factory=dict)
    hold_seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return (
            self.bridged == self.calls
            and self.frames.frames > 0
            and self.frames.lost == 0
            and self.tap_frames_dropped == 0
        )


def setup_rate(sent: Sequence[float], done: Sequence[float]) -> float:
    """Calls set up per second: bridged calls over first INVITE to last bridged."""
    if not done:
        return 0.0
    return len(done) / max(max(done) - min(sent), 1e-9)


def phone_slots(phones: Sequence[T], calls: int) -> list[T]:
    """The phone that places call *k* (each phone holds `CALLS_PER_PHONE` calls)."""
    needed = math.ceil(calls / CALLS_PER_PHONE)
    if needed > len(phones):
        raise ValueError(f"{calls} calls need {needed} phones, have {len(phones)}")
    return [phones[k // CALLS_PER_PHONE] for k in range(calls)]


def parse_steps(text: str) -> list[int]:
    steps = sorted({int(part) for part in text.split(",") if part.strip()})
    if not steps or steps[0] < 1:
        raise argparse.ArgumentTypeError("steps: positive integers, e.g. 1,2,4,6")
    return steps


# -- a path under test: phones that call, phones that answer, processes that cost ---------------
@dataclass
class CallPath:
    """What a step needs from either path (bridged through our switch, or direct)."""

    name: str
    callers: list[Phone]
    answerers: list[Phone]
    target: Callable[[int], str]
    measured_pids: Callable[[], list[int]]
    memory_pids: Callable[[], list[int]] = list
    idle_cores: float = 0.0
    idle_phone_cores: float = 0.0
    idle_rss_kib: int = 0
    idle_threads: dict[str, float] = field(default_factory=dict)
    before_step: Callable[[], None] = lambda: None
    health: Callable[[], int] = lambda: 0

    def phone_pids(self) -> list[int]:
        return [p.process.pid for p in [*self.callers, *self.answerers]]

    def rss(self) -> int:
        return sum(rss_kib(pid) for pid in self.memory_pids())


def new_events(
    phones: Sequence[Phone], baseline: dict[str, int], event: str, **fields: Any
) -> list[tuple[Phone, dict[str, Any]]]:
    """Events seen by *phones* since *baseline* (counts per phone name)."""
    found = []
    for phone in phones:
        seen = phone.seen(event, **fields)
        found += [(phone, item) for item in seen[baseline.get(phone.name, 0) :]]
    return found


def counts(phones: Sequence[Phone], event: str, **fields: Any) -> dict[str, int]:
    return {phone.name: len(phone.seen(event, **fields)) for phone in phones}


def wait_count(
    phones: Sequence[Phone],
    baseline: dict[str, int],
    n: int,
    timeout: float,
    event: str,
    **fields: Any,
) -> list[tuple[Phone, dict[str, Any]]]:
    """Poll until *n* new events came (or *timeout*); returns what came."""
    deadline = time.monotonic() + timeout
    while True:
        found = new_events(phones, baseline, event, **fields)
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def tone_wavs(directory: Path, seconds: float) -> dict[float, Path]:
    """One long tone per side, played once: the phone's looping ``tone`` skips a frame at
    every loop (each second), which would count as loss."""
    from ivr.prompts import write_wav

    t = np.arange(int(seconds * RATE)) / RATE
    wavs = {}
    for freq in (AGENT_TONE, CALLER_TONE):
        wavs[freq] = directory / f"bench-tone-{int(freq)}.wav"
        write_wav(wavs[freq], (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16), RATE)
    return wavs


def run_step(path: CallPath, calls: int, hold: float, tones: dict[float, Path]) -> StepResult:
    result = StepResult(path.name, calls)
    path.before_step()
    confirmed = counts(path.answerers, "state", state="confirmed")
    incoming = counts(path.answerers, "incoming")
    dropped0 = path.health()
    sent, placed = [], []
    for k, phone in enumerate(phone_slots(path.callers, calls)):
        sent.append(time.monotonic())
        placed.append((phone, phone.call(path.target(k))))
    answered = wait_count(path.answerers, confirmed, calls, 30, "state", state="confirmed")
    done = [item["t"] for _, item in answered]
    result.bridged = len(answered)
    result.setup_ms = [round(1000 * (t - min(sent)), 1) for t in sorted(done)]
    result.setup_rate = setup_rate(sent, done)
    far_ends = [(p, int(e["call"])) for p, e in new_events(path.answerers, incoming, "incoming")]
    for phone, call in far_ends:
        phone.play(call, tones[AGENT_TONE])
    for phone, call in placed:
        phone.play(call, tones[CALLER_TONE])
    time.sleep(0.5)  # media settles (jitter buffers fill) before the measured window
    window, phones = CpuWindow(path.measured_pids), CpuWindow(path.phone_pids)
    threads = CpuWindow(path.memory_pids)
    for meter in (window, phones, threads):
        meter.start()
    time.sleep(hold / 2)
    rss = path.rss()
    time.sleep(hold / 2)
    result.hold_seconds = hold
    result.cores_busy = window.cores()
    live = max(result.bridged, 1)
    result.cpu_ms_per_call_second = 1000 * (result.cores_busy - path.idle_cores) / live
    result.phones_cpu_ms_per_call_second = 1000 * (phones.cores() - path.idle_phone_cores) / live
    result.rss_kib_per_call = (rss - path.idle_rss_kib) / live
    result.threads_ms_per_call_second = {
        label: round(1000 * (cores - path.idle_threads.get(label, 0.0)) / live, 2)
        for label, cores in sorted(threads.thread_cores().items())
    }
    result.tap_frames_dropped = path.health() - dropped0
    hang_up_and_check(placed, far_ends, result)
    return result


def hang_up_and_check(
    placed: list[tuple[Phone, int]], far_ends: list[tuple[Phone, int]], result: StepResult
) -> None:
    """Callers hang up; each side's recording must carry the other side's tone."""
    for phone, call in placed:
        with contextlib.suppress(AssertionError):
            phone.hangup(call)
    heard = [(p, c, AGENT_TONE) for p, c in placed] + [(p, c, CALLER_TONE) for p, c in far_ends]
    for phone, call, freq in heard:
        try:
            path = phone.wait_for("recorded", call=call, timeout=10)["path"]
        except AssertionError:
            continue
        result.frames.add(check_recording(path, freq))


# -- deployment -------------------------------------------------------------------------------
def start_phones(deployment: Deployment, names: list[str], auto_answer: bool) -> list[Phone]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda name: deployment.phone(name, auto_answer=auto_answer), names))


def register_agents(deployment: Deployment, edge: EdgeUnderTest, count: int) -> list[Phone]:
    extensions = [str(3001 + n) for n in range(count)]
    passwords = {ext: edge.add_device(ext) for ext in extensions}
    for ext in extensions:
        deployment.add_agent(ext)
    phones = start_phones(deployment, [f"agent{ext}" for ext in extensions], auto_answer=True)
    for ext, phone in zip(extensions, phones, strict=True):
        registration = phone.register(
            edge.uri_host, ext, passwords[ext], domain=edge.settings.sip_domain
        )
        if registration["code"] != 200:
            raise RuntimeError(f"agent {ext} did not register: {registration}")
    return phones


def worker_config(deployment: Deployment, edge: EdgeUnderTest) -> Path:
    config = deployment.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain,
        heartbeat_seconds=1.0, stale_after_seconds=5.0,
    )  # fmt: skip
    lines = [line for line in config.read_text().splitlines() if not line.startswith("flow =")]
    if lines[-1] != "auto_answer = true":  # our flow goes in the [extra] table, which ends it
        raise RuntimeError(f"unexpected worker configuration layout in {config}")
    config.write_text("\n".join([*lines, f'flow = "{FLOW}"']) + "\n")
    return config


def wait_dispatcher(
    edge: EdgeUnderTest, workers: Sequence[WorkerProcess], timeout: float = 30.0
) -> None:
    """Until Kamailio itself has loaded every worker (a reload may be refused for 5 s)."""
    from telephony.edge import EdgeError

    wanted = [f"sip:{worker.sip_uri_host}" for worker in workers]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(EdgeError):
            if all(uri in edge.edge.rpc("dispatcher.list") for uri in wanted):
                return
            edge.edge.rpc("dispatcher.reload")
        time.sleep(0.5)
    raise RuntimeError("Kamailio did not load every worker")


def agents_available(deployment: Deployment) -> Callable[[], None]:
    from sqlalchemy import update

    from store.models import Agent, AgentState

    def reset() -> None:
        with deployment.db.session() as session:
            session.execute(update(Agent).values(state=AgentState.AVAILABLE))

    return reset


def workers_idle(workers: Sequence[WorkerProcess], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(w.get("/health")["load"] == 0 for w in workers):
            return
        time.sleep(0.1)


def dropped_frames(workers: Sequence[WorkerProcess]) -> int:
    return sum(int(w.get("/health")["tap_frames_dropped"]) for w in workers)


def switch_path(
    deployment: Deployment, edge: EdgeUnderTest, calls: int
) -> tuple[CallPath, list[WorkerProcess]]:
    agents = register_agents(deployment, edge, calls)
    callers = start_phones(deployment, [f"caller{n}" for n in range(phones_for(calls))], False)
    workers = deployment.start_workers(calls, worker_config(deployment, edge))
    wait_dispatcher(edge, workers)
    reset = agents_available(deployment)

    def before() -> None:
        workers_idle(workers)
        reset()

    def pids() -> list[int]:
        assert edge.edge.process is not None
        return [w.process.pid for w in workers] + process_tree(edge.edge.process.pid)

    support = f"sip:800@{edge.uri_host}"
    path = CallPath(
        "switch", callers, agents, lambda _k: support, pids,
        memory_pids=lambda: [w.process.pid for w in workers], before_step=before,
        health=lambda: dropped_frames(workers),
    )  # fmt: skip
    return path, workers


def direct_path(deployment: Deployment, calls: int) -> CallPath:
    count = phones_for(calls)
    callers = start_phones(deployment, [f"refcaller{n}" for n in range(count)], False)
    callees = start_phones(deployment, [f"refcallee{n}" for n in range(count)], True)
    slots = phone_slots(callees, calls)

    def pids() -> list[int]:
        return [p.process.pid for p in [*callers, *callees]]

    return CallPath("direct", callers, callees, lambda k: slots[k].uri, pids, memory_pids=pids)


def phones_for(calls: int) -> int:
    return math.ceil(calls / CALLS_PER_PHONE)


def measure_idle(path: CallPath, seconds: float) -> None:
    window, phones = CpuWindow(path.measured_pids), CpuWindow(path.phone_pids)
    threads = CpuWindow(path.memory_pids)
    for meter in (window, phones, threads):
        meter.start()
    time.sleep(seconds)
    path.idle_cores, path.idle_phone_cores = window.cores(), phones.cores()
    path.idle_threads = threads.thread_cores()
    path.idle_rss_kib = path.rss()


# -- memory: workers started alone versus forked after numpy/numba ------------------------------
def memory_of(pids: Sequence[int]) -> dict[str, float]:
    rss = [proc_kib(pid, "Rss", "smaps_rollup") for pid in pids]
    pss = [pss_kib(pid) for pid in pids]
    return {
        "workers": len(pids),
        "rss_mib_each": round(sum(rss) / len(rss) / 1024, 1),
        "pss_mib_each": round(sum(pss) / len(pss) / 1024, 1),
        "pss_mib_total": round(sum(pss) / 1024, 1),
    }


#: label -> bench.forkworkers options
MEMORY_VARIANTS = {
    "spawned": ["--mode", "spawn"],
    "spawned, numba imported": ["--mode", "spawn", "--preload"],
    "forked after numba (centralino up)": ["--mode", "fork", "--preload"],
    "forked after numba + gc.freeze()": ["--mode", "fork", "--preload", "--freeze"],
}


def registered_pids(db_url: str, prefix: str, count: int, timeout: float = 60.0) -> list[int]:
    """Pids of the *count* live workers named *prefix*-n, once all registered."""
    from sqlalchemy import select

    from store.db import Database
    from store.models import Worker

    db = Database(db_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.session() as session:
                pids = session.scalars(
                    select(Worker.pid).where(Worker.name.startswith(prefix + "-"), Worker.alive)
                ).all()
            if len(pids) >= count:
                return [int(pid) for pid in pids]
            time.sleep(0.2)
    finally:
        db.dispose()
    raise RuntimeError(f"workers {prefix}: {len(pids)} of {count} registered")


@contextlib.contextmanager
def worker_group(
    config: Path, db_url: str, prefix: str, count: int, options: list[str]
) -> Iterator[tuple[int, list[int]]]:
    """`bench.forkworkers` running *count* workers: (parent pid, worker pids); stopped after."""
    argv = [sys.executable, "-m", "bench.forkworkers", "--config", str(config)]
    argv += ["--count", str(count), "--prefix", prefix, *options]
    with (config.parent / f"{prefix}.log").open("wb") as log:
        parent = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield parent.pid, registered_pids(db_url, prefix, count)
    finally:
        stop_group(parent)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_memory(root: Path, count: int, settle: float) -> dict[str, Any]:
    """Idle RSS/PSS of *count* workers per `MEMORY_VARIANTS` entry, one variant at a time."""
    from store.migrate import upgrade
    from telephony.testing.deployment import Deployment

    root.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{root / 'memory.sqlite'}"
    upgrade(db_url)
    deployment = Deployment(root, db_url=db_url)
    config = deployment.config(heartbeat_seconds=1.0, stale_after_seconds=5.0)
    result: dict[str, Any] = {}
    try:
        for n, (label, options) in enumerate(MEMORY_VARIANTS.items()):
            with worker_group(config, db_url, f"mem{n}", count, options) as (parent, pids):
                time.sleep(settle)
                result[label] = memory_of(pids)
                if "fork" in options:
                    parent_pss = pss_kib(parent) / 1024
                    result[label]["parent_pss_mib"] = round(parent_pss, 1)
                    result[label]["pss_mib_total"] = round(
                        result[label]["pss_mib_total"] + parent_pss, 1
                    )
    finally:
        deployment.close()
    return result


# -- the run ----------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    from telephony.testing.deployment import Deployment
    from telephony.testing.edge import make_settings, running_edge

    root = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    os.environ.setdefault("PHONE_LOG_DIR", str(root))
    most = max(args.steps)
    settings = make_settings(root, heartbeat_seconds=1.0, stale_after_seconds=5.0)
    results: list[StepResult] = []
    tones = tone_wavs(root, args.hold + 30.0)
    with running_edge(root, settings=settings) as edge:
        deployment = Deployment(root, db_url=settings.database_url)
        try:
            switch, workers = switch_path(deployment, edge, most)
            direct = direct_path(deployment, most)
            time.sleep(2.0)  # start-up work (prompt rendering, first heartbeats) ends
            measure_idle(switch, args.idle)
            measure_idle(direct, args.idle)
            idle_worker = [rss_kib(w.process.pid) for w in workers]
            idle_phone = [rss_kib(pid) for pid in direct.phone_pids()]
            for calls in args.steps:
                for path in (switch, direct):
                    step = run_step(path, calls, args.hold, tones)
                    results.append(step)
                    print_step(step)
        finally:
            deployment.close()
    memory = run_memory(root / "memory", args.memory_workers, args.settle)
    return report(args, results, switch, direct, idle_worker, idle_phone, memory)


def report(
    args: argparse.Namespace,
    steps: list[StepResult],
    switch: CallPath,
    direct: CallPath,
    idle_worker: list[int],
    idle_phone: list[int],
    memory: dict[str, Any],
) -> dict[str, Any]:
    clean = [s.calls for s in steps if s.path == "switch" and s.clean]
    return {
        "benchmark": "calls",
        "source": source_state(),
        "machine": {**machine(), "architecture": platform.machine()},
        "settings": {"steps": args.steps, "hold_seconds": args.hold, "idle_seconds": args.idle,
                     "tones_hz": [CALLER_TONE, AGENT_TONE], "flow": FLOW,
                     "memory_workers": args.memory_workers},
        "idle": {
            "switch_cores": round(switch.idle_cores, 4),
            "direct_cores": round(direct.idle_cores, 4),
            "worker_rss_mib": round(sum(idle_worker) / len(idle_worker) / 1024, 1),
            "phone_rss_mib": round(sum(idle_phone) / len(idle_phone) / 1024, 1),
        },
        "steps": [step_json(s) for s in steps],
        "most_clean_bridged_calls": max(clean, default=0),
        "memory": memory,
    }  # fmt: skip


def source_state() -> dict[str, Any]:
    """The commit measured, and files changed in the shared working tree at the time."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": git("diff", "--name-only").split(),
    }


def step_json(step: StepResult) -> dict[str, Any]:
    data = asdict(step)
    data["setup_ms_median"] = round(percentile(step.setup_ms, 0.5), 1)
    data["setup_ms_max"] = round(max(step.setup_ms, default=math.nan), 1)
    data["setup_rate"] = round(step.setup_rate, 2)
    data["cpu_ms_per_call_second"] = round(step.cpu_ms_per_call_second, 2)
    data["phones_cpu_ms_per_call_second"] = round(step.phones_cpu_ms_per_call_second, 2)
    data["cores_busy"] = round(step.cores_busy, 3)
    data["rss_kib_per_call"] = round(step.rss_kib_per_call)
    data["lost_percent"] = round(100 * step.frames.lost / max(step.frames.frames, 1), 3)
    data["glitch_percent"] = round(100 * step.frames.glitches / max(step.frames.frames, 1), 3)
    data["clean"] = step.clean
    return data


def print_step(step: StepResult) -> None:
    f = step.frames
    median, worst = percentile(step.setup_ms, 0.5), max(step.setup_ms, default=math.nan)
    print(
        f"{step.path:>7} {step.calls:>3} calls: {step.bridged} bridged, setup median "
        f"{median:7.1f} ms max {worst:7.1f} ms, "
        f"{step.setup_rate:6.2f}/s, frames {f.frames} lost {f.lost} glitches {f.glitches}, "
        f"tap drops {step.tap_frames_dropped}, CPU {step.cpu_ms_per_call_second:6.1f} ms/call-s",
        flush=True,
    )


def print_table(result: dict[str, Any]) -> None:
    rows: list[list[Any]] = []
    by_step: dict[int, dict[str, dict[str, Any]]] = {}
    for step in result["steps"]:
        by_step.setdefault(step["calls"], {})[step["path"]] = step
    for calls, paths in sorted(by_step.items()):
        floor = paths.get("direct", {}).get("cpu_ms_per_call_second") or math.nan
        for name in ("switch", "direct"):
            s = paths.get(name)
            if s is None:
                continue
            switch = name == "switch"
            frames, cpu = s["frames"], s["cpu_ms_per_call_second"]
            rows.append(
                [name, calls, f"{s['setup_ms_median']:.1f}/{s['setup_ms_max']:.1f}",
                 s["setup_rate"], frames["frames"], frames["lost"], frames["glitches"],
                 cpu, cpu / floor if switch else 1.0, s["rss_kib_per_call"] if switch else None]
            )  # fmt: skip
    header = ("path", "calls", "setup med/max ms", "calls/s", "frames", "lost", "glitch",
              "CPU ms/call-s", "ratio", "RSS KiB/call")  # fmt: skip
    print()
    print(table(header, rows, digits=(0, 0, 0, 2, 0, 0, 0, 1, 2, 0)))
    print_threads(result["steps"])
    idle, memory = result["idle"], result["memory"]
    print(
        f"\nmost concurrent bridged calls with no lost frame: {result['most_clean_bridged_calls']}"
    )
    print(
        f"idle worker RSS {idle['worker_rss_mib']} MiB, idle phone RSS {idle['phone_rss_mib']} MiB"
    )
    print(f"idle workers ({result['settings']['memory_workers']} per line):")
    for label, m in memory.items():
        print(
            f"  {label:<36} RSS {m['rss_mib_each']:>6} MiB each, PSS {m['pss_mib_each']:>6} "
            f"MiB each, PSS total {m['pss_mib_total']:>6} MiB (with any fork parent)"
        )


def print_threads(steps: list[dict[str, Any]]) -> None:
    """Where the CPU goes: workers' threads (bridged) and phones' threads (direct)."""
    labels = sorted({label for step in steps for label in step["threads_ms_per_call_second"]})
    print("\nCPU ms per call-second by thread (bridged: workers; direct: phones), idle subtracted")
    rows = [
        [step["path"], step["calls"],
         *(step["threads_ms_per_call_second"].get(label, 0.0) for label in labels)]
        for step in steps
    ]  # fmt: skip
    print(table(("path", "calls", *labels), rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench calls", description=(__doc__ or "").splitlines()[0].rstrip(",")
    )
    parser.add_argument(
        "--steps",
        type=parse_steps,
        default=list(DEFAULT_STEPS),
        help="simultaneous calls per step, comma-separated (default 1,2,4,6); "
        "one worker per call (a worker holds one bridged call and a spare leg)",
    )
    parser.add_argument("--hold", type=float, default=6.0, help="seconds of media per step")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU baseline")
    parser.add_argument(
        "--memory-workers",
        type=int,
        default=3,
        help="workers spawned and forked for the memory comparison",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds idle workers run before their memory is read",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-nice", action="store_true", help="do not lower our priority")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_nice and os.nice(0) < 10:
        os.nice(10 - os.nice(0))  # 2 shared cores: the bench and its children yield
    result = run(args)
    print_table(result)
    print()
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
