"""``centralino up``: the whole system on one machine, as children of one launcher process.

Order of start: database (migrations, demo data, the deployment token, private file modes),
switch workers (forked after numpy/numba are imported so their pages are shared), Kamailio edge
(following the live workers), speech service and console. Ctrl-C or SIGTERM stops them in
reverse order.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from store.db import Database
from store.demo import DemoCredentials, seed_demo
from store.migrate import upgrade
from store.private_files import make_var_dir, tighten, write_private
from store.settings import Settings
from store.tokens import deployment_token, token_path
from telephony.edge import Edge, sync_trunk_registrations
from telephony.reaper import bury_exited_worker
from telephony.sizing import worker_count

log = logging.getLogger("centralino.up")

CREDENTIALS_FILE = "demo-credentials.txt"


def prepare_database(settings: Settings) -> DemoCredentials | None:
    """Migrate the database and seed the demo data on first run (returns the new credentials);
    make the deployment token if there is none; close ``var/`` and its files to other users."""
    make_var_dir(settings)
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            credentials = seed_demo(session, settings.sip_domain)
    finally:
        db.dispose()
    if credentials is not None:
        write_private(credentials_path(settings), "".join(_credential_lines(credentials)))
    deployment_token(settings)
    tighten(settings)
    return credentials


def credentials_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / CREDENTIALS_FILE


def _credential_lines(credentials: DemoCredentials) -> list[str]:
    lines = [f"console {user} {password}\n" for user, password in credentials.console.items()]
    lines += [f"sip {ext} {password}\n" for ext, password in credentials.sip.items()]
    return [*lines, f"support-number {credentials.support_number}\n"]


def _run_worker(index: int, config: str | None) -> None:
    # The fork inherits the launcher's handlers, which would only set the parent's stop flag
    # here: until the worker installs its own (once it serves), a signal ends it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from telephony import worker

    argv = ["--index", str(index)] + (["--config", config] if config else [])
    sys.exit(worker.main(argv))


@dataclass
class Launcher:
    settings: Settings
    config_path: str | None = None
    with_speech: bool = True
    with_console: bool = True
    edge: Edge | None = None
    workers: list[multiprocessing.process.BaseProcess] = field(default_factory=list)
    services: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    worker_count: int = 0  # settings.workers, or the machine's default (`telephony.sizing`)

    def start(self) -> None:
        settings = self.settings
        import numba  # noqa: F401  (shared copy-on-write by the forked workers)
        import numpy  # noqa: F401

        gc.freeze()  # keep the parent's objects out of the children's collections: fewer COW copies
        sizing = Database.from_settings(settings)
        try:
            self.worker_count = worker_count(settings, sizing)
        finally:
            sizing.dispose()  # no pooled connection may cross the fork
        for index in range(self.worker_count):
            self.workers.append(self._fork_worker(index))
        db = Database.from_settings(settings)
        sync_trunk_registrations(db, settings)
        self.edge = Edge(settings)
        self.edge.start()
        self.edge.keep_workers_in_sync(db)
        if self.with_speech:
            self._spawn("speech")
        if self.with_console:
            self._spawn("console")

    def _fork_worker(self, index: int) -> multiprocessing.process.BaseProcess:
        process = multiprocessing.get_context("fork").Process(
            target=_run_worker, args=(index, self.config_path), name=f"switch-{index}"
        )
        process.start()
        return process

    def restart_dead_workers(self) -> list[str]:
        """Fork a fresh worker in place of each one that died (its calls are reaped as failed)."""
        restarted = []
        for index, process in enumerate(self.workers):
            if process.exitcode is not None:
                log.error("%s died (exit %s): starting a new one", process.name, process.exitcode)
                self._bury(f"switch-{index}", process.pid)
                self.workers[index] = self._fork_worker(index)
                restarted.append(process.name)
        return restarted

    def _bury(self, name: str, pid: int | None) -> None:
        """Close the dead worker's calls now (its phones hear the edge's BYE), not after its
        heartbeat goes stale; the edge stops routing to it at its next look."""
        if pid is None:
            return
        db = Database.from_settings(self.settings)
        try:
            if bury_exited_worker(db, name, pid):
                log.warning("closed the open calls of %s (pid %d)", name, pid)
        except Exception:  # the store is busy: its heartbeat goes stale and a reaper comes
            log.exception("could not close the calls of %s", name)
        finally:
            db.dispose()

    def _spawn(self, name: str) -> None:
        self.services.append((name, self._popen(name)))

    def _popen(self, name: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "telephony.cli", name]
        if self.config_path:
            command += ["--config", self.config_path]
        return subprocess.Popen(command, start_new_session=True)

    def restart_dead_services(self) -> list[str]:
        """Start again the speech service, the console or Kamailio when one has exited (calls
        on the workers go on meanwhile); the names restarted."""
        restarted = []
        for index, (name, proc) in enumerate(self.services):
            if proc.poll() is not None:
                log.error("%s exited (%s): starting it again", name, proc.returncode)
                self.services[index] = (name, self._popen(name))
                restarted.append(name)
        if self.edge and self.edge.process and self.edge.process.poll() is not None:
            log.error("kamailio exited (%s): starting it again", self.edge.process.returncode)
            self.edge.restart()
            restarted.append("kamailio")
        return restarted

    def dead_services(self) -> list[str]:
        dead = [name for name, proc in self.services if proc.poll() is not None]
        if self.edge and self.edge.process and self.edge.process.poll() is not None:
            dead.append("kamailio")
        return dead

    def stop(self) -> None:
        for name, proc in reversed(self.services):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time: killing it", name)
                proc.kill()
        for process in self.workers:
            if process.exitcode is None and process.pid:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.workers:
            process.join(15)
            if process.exitcode is None:
                log.warning("%s did not stop in time: killing it", process.name)
                process.kill()
                process.join()
        if self.edge:
            self.edge.stop()
        self.stopped.set()


def print_banner(
    settings: Settings,
    running: bool = True,
    fresh: DemoCredentials | None = None,
    workers: int | None = None,
) -> None:
    """Where to look; the demo passwords only when this run made them (*fresh*), else the
    file that keeps them."""
    out = [
        "",
        "Centralino is running." if running else "Centralino is ready: `centralino up` starts it.",
        f"  SIP edge:      sip:{settings.sip_address}:{settings.sip_port} "
        f"(domain {settings.sip_domain}, UDP and TCP)",
        f"  Console:       http://{settings.console_address}:{settings.console_port}/",
        f"  Speech:        ws://{settings.speech_address}:{settings.speech_port}/",
        f"  Switch workers: {_worker_words(settings, workers)}, control APIs from "
        f"http://{settings.control_address}:{settings.worker_api_base_port}/ "
        f"(token in {token_path(settings)})",
        f"  Database:      {settings.database_url}",
    ]
    path = credentials_path(settings)
    if fresh is not None:
        out.append(f"  Demo credentials (shown once; kept in {path}):")
        out += [f"    {'console user':<15} {u:<8} {p}" for u, p in fresh.console.items()]
        out += [f"    {'SIP extension':<15} {e:<8} {p}" for e, p in fresh.sip.items()]
        out.append(f"    {'support number':<15} {fresh.support_number}")
    elif path.exists():
        out.append(f"  Demo credentials: in {path} (readable by this user only)")
    from telephony.status import speech_lines

    out += speech_lines(settings)
    out.append("  Call the support number from a SIP phone registered as one of the extensions.")
    out.append("  `centralino status` shows what runs. Ctrl-C stops everything.")
    print("\n".join(out), flush=True)


def _worker_words(settings: Settings, started: int | None) -> str:
    """How many workers run (each holds one bridged call), or how many `up` will choose."""
    if started is not None:
        return f"{started} ({started} bridged calls; `centralino status` shows how full)"
    if settings.workers > 0:
        return str(settings.workers)
    return "one per agent, as cores and memory allow (workers = 0)"


def run_up(
    settings: Settings, config_path: str | None, with_speech: bool, with_console: bool
) -> int:
    fresh = prepare_database(settings)
    launcher = Launcher(settings, config_path, with_speech, with_console)
    stop_requested = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        launcher.start()
        print_banner(settings, fresh=fresh, workers=launcher.worker_count)
        return_code = 0
        while not stop_requested.wait(1.0):
            launcher.restart_dead_workers()
            try:
                launcher.restart_dead_services()
            except Exception:  # e.g. its port is taken by someone else: nothing to run on
                log.exception("stopping: a service cannot be started again")
                return_code = 1
                break
    finally:
        log.info("stopping every child")
        launcher.stop()
    return return_code
