"""The SIP edge: Kamailio's configuration rendered from the settings, run as a child process.

Kamailio is the registrar (digest auth against ``devices``), the dispatcher in front of the
switch workers and the client of our carrier registrations (``uacreg``, derived from
``trunks``). It runs in the foreground with its runtime files under ``var/edge`` (0700, files
0600), so no root-owned path is needed. What it knows about workers and public numbers is
derived from the store by `telephony.edge_data` and kept in sync by this module's keeper.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from store.db import Database
from store.settings import Settings
from telephony.edge_control import (
    EdgeError,
    ctl_socket,
    kamcmd,
    private_dir,
    run_dir,
    write_private,
)
from telephony.edge_data import (
    TrunkDestination,
    live_worker_destinations,
    public_numbers,
    sync_trunk_registrations,
    trunk_destinations,
)
from telephony.edge_devices import DisabledDevices
from telephony.edge_dialogs import DeadWorkerHangups
from telephony.edge_numbers import loaded_numbers, push_numbers, write_numbers
from telephony.edge_trunks import TrunkKeeper

__all__ = ["Edge", "EdgeError", "EdgeTuning", "render_config", "sync_trunk_registrations"]

from telephony.agent_lamps import AgentLamps
from telephony.phone_control import PhoneControl, live_call_users

log = logging.getLogger("centralino.edge")
security_log = logging.getLogger("centralino.security")

TEMPLATE = Path(__file__).with_name("kamailio.cfg.tmpl")
MODULE_PATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
#: A security event as the routing script logs it: four space-free fields ending the line, so
#: text a caller put earlier in the line (a Call-ID in the log prefix) cannot pose as one.
SECURITY_EVENT = re.compile(
    r"(event=[a-z.]+ user=\S{1,200} source=[0-9A-Fa-f.:\[\]]{1,64} reason=[a-z-]{1,32})$"
)


@dataclass(frozen=True)
class EdgeTuning:
    """Knobs that deployments rarely change and tests sometimes must."""

    # One UDP receiver keeps a dialog's requests in order: with several, a burst of INFO keys
    # was reordered and the worker's dialog refused the late CSeqs (RFC 3261 12.2.2), losing
    # keys. One process still handles far more requests per second than a contact center sends.
    children: int = 1
    debug: int = 1
    transaction_timeout_ms: int = 2000
    min_expires: int = 10
    trunk_timer_s: int = 10
    pike_density: int = 64
    #: Failed authentications from one address within the window before it is dropped.
    authfail_limit: int = 30
    #: Wrong passwords for one user within the window before that user signs in only from
    #: addresses it signed in from before (so an attacker cannot lock a desk phone out).
    authfail_user_limit: int = 10
    authfail_window_s: int = 120
    #: How long an address that signed in as a user stays known for that user.
    known_source_s: int = 3600
    max_contacts: int = 3
    tcp_connection_lifetime_s: int = 620
    tcp_max_connections: int = 1024


def kamailio_db_url(database_url: str) -> tuple[str, str]:
    """Kamailio's module and URL for our SQLAlchemy URL (SQLite file or PostgreSQL)."""
    if database_url.startswith("sqlite:///"):
        return "db_sqlite.so", "sqlite://" + database_url.removeprefix("sqlite://")
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "db_postgres.so", "postgres://" + database_url.removeprefix(prefix)
    raise EdgeError(
        f"Kamailio cannot use {database_url.split(':', 1)[0]}: use SQLite or PostgreSQL"
    )


def render_config(settings: Settings, run_dir: Path, tuning: EdgeTuning | None = None) -> str:
    """Kamailio's configuration text for *settings*."""
    tuning = tuning or EdgeTuning()
    db_module, db_url = kamailio_db_url(settings.database_url)
    values = {
        "DEBUG": tuning.debug,
        "CHILDREN": tuning.children,
        "SIP_ADDRESS": settings.sip_address,
        "SIP_PORT": settings.sip_port,
        "SIP_DOMAIN": settings.sip_domain,
        "MODULE_PATH": MODULE_PATH,
        "DB_MODULE": db_module,
        "DB_URL": db_url,
        "RUN_DIR": run_dir,
        "TRANSACTION_TIMEOUT_MS": tuning.transaction_timeout_ms,
        "MIN_EXPIRES": tuning.min_expires,
        "TRUNK_TIMER_S": tuning.trunk_timer_s,
        "PIKE_DENSITY": tuning.pike_density,
        "AUTHFAIL_LIMIT": tuning.authfail_limit,
        "AUTHFAIL_USER_LIMIT": tuning.authfail_user_limit,
        "AUTHFAIL_WINDOW_S": tuning.authfail_window_s,
        "AUTHOK_S": tuning.known_source_s,
        "MAX_CONTACTS": tuning.max_contacts,
        "TCP_LIFETIME_S": tuning.tcp_connection_lifetime_s,
        "TCP_MAX_CONNECTIONS": tuning.tcp_max_connections,
        "SWITCH_ADDRESS": settings.edge_switch_address,
        "SWITCH_PORT": settings.edge_switch_port,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"%%{name}%%", str(value))
    if "%%" in text:
        missing = text[text.index("%%") : text.index("%%") + 40]
        raise EdgeError(f"template placeholder left unfilled near {missing!r}")
    return text


def _port_is_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


class Edge:
    """One Kamailio process configured for *settings*; ``start()``/``stop()`` or a ``with``.

    *db* is where the edge reads the numbers it serves (by default the settings' database)."""

    def __init__(
        self, settings: Settings, tuning: EdgeTuning | None = None, db: Database | None = None
    ) -> None:
        self.settings = settings
        self.tuning = tuning or EdgeTuning()
        self.run_dir = run_dir(settings)
        self.config_path = self.run_dir / "kamailio.cfg"
        self.security_log_path = self.run_dir / "security.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_thread: threading.Thread | None = None
        self.log_lines: list[str] = []
        self.destinations: list[str] = []
        self.trunk_destinations: list[TrunkDestination] = []
        self._db = db
        self._owns_db = False
        self._keeper: threading.Thread | None = None
        self._phones: threading.Thread | None = None
        self._stopping = threading.Event()
        self.disabled_devices = DisabledDevices()
        self.trunks = TrunkKeeper(settings)

    @property
    def ctl_socket(self) -> str:
        return ctl_socket(self.run_dir)

    @property
    def dispatcher_list(self) -> Path:
        return self.run_dir / "dispatcher.list"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def numbers(self) -> dict[str, str]:
        """The public numbers Kamailio serves (number a caller dials -> support number)."""
        return loaded_numbers(self.run_dir)

    def set_workers(self, destinations: list[str]) -> bool:
        """Point dispatcher set 1 at *destinations*, reloading Kamailio; True if they changed."""
        if destinations == self.destinations and self.dispatcher_list.exists():
            return False
        self._write_dispatcher(destinations, self.trunk_destinations)
        self.destinations = list(destinations)  # only once Kamailio routes to them
        log.info("switch workers: %s", ", ".join(destinations) or "none")
        return True

    def set_trunks(self, trunks: list[TrunkDestination]) -> bool:
        """Point dispatcher set 2 (outbound calls) at *trunks*, in their order, reloading
        Kamailio (calls in progress are untouched); True if they changed."""
        if trunks == self.trunk_destinations and self.dispatcher_list.exists():
            return False
        self._write_dispatcher(self.destinations, trunks)
        self.trunk_destinations = list(trunks)
        log.info("outbound trunks: %s", ", ".join(t.uuid for t in trunks) or "none")
        return True

    def _write_dispatcher(self, workers: list[str], trunks: list[TrunkDestination]) -> None:
        """The dispatcher list: set 1 the workers; set 2 the trunks, the first with the highest
        dispatcher priority (algorithm 8 tries them by it), each sent from the public socket."""
        lines = [f"1 {uri} 0 0\n" for uri in workers]
        for rank, trunk in enumerate(trunks):
            socket = f"{trunk.transport}:{self.settings.sip_address}:{self.settings.sip_port}"
            lines.append(f"2 {trunk.uri} 0 {len(trunks) - rank} {trunk.attributes(socket)}\n")
        write_private(self.dispatcher_list, "".join(lines))
        if self.running:
            self.rpc("dispatcher.reload")

    def sync_numbers(self, db: Database | None = None) -> bool:
        """Serve the store's public numbers now (no restart); True if they changed."""
        wanted = public_numbers(db or self._database())
        return push_numbers(self.run_dir, wanted, self.rpc if self.running else None)

    def keep_workers_in_sync(self, db: Database, interval: float | None = None) -> None:
        """Follow the live workers (fresh heartbeats) and the public numbers in a background
        thread until stop(), and hang up the phones still on the calls of a worker known dead
        (`telephony.edge_dialogs`; staleness alone is not death here, the reapers decide)."""
        every = interval or self.settings.heartbeat_seconds
        self._db = self._db or db

        hangups = DeadWorkerHangups(self.rpc)

        def follow() -> None:
            while not self._stopping.wait(every):
                try:  # numbers first: once a worker shows up, its numbers are served
                    self.sync_numbers(db)
                    self.disabled_devices.sync(db, self.rpc)
                    self.trunks.report(db, self.rpc if self.running else None)
                    self.set_trunks(trunk_destinations(db))
                    self.set_workers(
                        live_worker_destinations(db, self.settings.stale_after_seconds)
                    )
                    if self.running:  # the phones still on a dead worker's calls hear a BYE
                        hangups.follow(db)
                except Exception:  # a busy database or a restarting Kamailio: try again
                    log.exception("could not refresh the switch workers or public numbers")

        self.sync_numbers(db)
        self.disabled_devices.sync(db, self.rpc)
        self.trunks.report(db, self.rpc if self.running else None)
        self.set_trunks(trunk_destinations(db))
        self.set_workers(live_worker_destinations(db, self.settings.stale_after_seconds))
        hangups.follow(db)
        self._keeper = threading.Thread(target=follow, name="edge-workers", daemon=True)
        self._keeper.start()
        self.drive_phones(db, every)

    def drive_phones(self, db: Database, interval: float) -> None:
        """Send the desk phones' queued NOTIFYs (telephony/phone_control.py) and publish the
        agents' states for their line keys (telephony/agent_lamps.py) until stop()."""
        control = PhoneControl(db, self.settings, lambda: live_call_users(self.rpc("dlg.list")))
        self._phones = threading.Thread(
            target=control.run, args=(self._stopping, interval), name="edge-phones", daemon=True
        )
        self._phones.start()
        lamps = AgentLamps(db, self.settings)
        threading.Thread(
            target=lamps.run, args=(self._stopping, interval), name="edge-lamps", daemon=True
        ).start()

    def write_config(self) -> Path:
        private_dir(self.run_dir)
        write_private(self.config_path, render_config(self.settings, self.run_dir, self.tuning))
        return self.config_path

    def check_config(self) -> None:
        """Let Kamailio parse the rendered file; raise with its own words when it refuses."""
        binary = _kamailio_binary()
        if not self.dispatcher_list.exists():
            self.set_workers(self.destinations)
        if not self.running:  # what a starting Kamailio loads into its number table
            write_numbers(self.run_dir, public_numbers(self._database()))
        result = subprocess.run(
            [binary, "-c", "-f", str(self.write_config())], capture_output=True, text=True
        )
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
            raise EdgeError("Kamailio refused its configuration:\n" + "\n".join(errors[-10:]))

    def start(self) -> None:
        for address, port, name in (
            (self.settings.sip_address, self.settings.sip_port, "sip_port"),
            (self.settings.edge_switch_address, self.settings.edge_switch_port,
             "edge_switch_port"),
        ):  # fmt: skip
            if not _port_is_free(address, port):
                raise EdgeError(
                    f"SIP port {address}:{port} is in use: stop the other SIP server or set "
                    f"{name} / CENTRALINO_{name.upper()}"
                )
        self.check_config()
        self.process = subprocess.Popen(
            [
                _kamailio_binary(),
                "-f",
                str(self.config_path),
                "-DD",
                "-E",
                "-Y",
                str(self.run_dir),
                "-P",
                str(self.run_dir / "kamailio.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_prepare_child,
        )
        self._log_thread = threading.Thread(target=self._pump_log, name="kamailio-log", daemon=True)
        self._log_thread.start()
        deadline = time.monotonic() + 15
        while not _is_listening(self.settings.sip_address, self.settings.sip_port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log_lines[-15:])
                self.stop()
                raise EdgeError(f"Kamailio did not start:\n{tail}")
            time.sleep(0.02)
        log.info(
            "edge listening on %s:%s, switch socket %s:%s",
            self.settings.sip_address,
            self.settings.sip_port,
            self.settings.edge_switch_address,
            self.settings.edge_switch_port,
        )

    def restart(self) -> None:
        """Start Kamailio again after it died (``centralino up`` does it): the contacts come
        back from the ``location`` table, the workers and numbers from the edge's files, and the
        keeper thread goes on. Dialogs of calls in progress are not remembered: their in-dialog
        requests are refused, so those calls end when a phone hangs up or times out. Kamailio's
        children outlive a ``kill -9`` of its main process (holding the SIP ports): they are
        killed first, by their process group."""
        old = self.process
        if old is not None and old.poll() is None:
            return
        if old is not None:  # its children outlive a killed main process and hold the ports
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(old.pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _is_listening(self.settings.sip_address, self.settings.sip_port):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)  # the kernel frees the ports as the children die
        self.process = None
        self.start()

    def _pump_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log_lines.append(line)
            del self.log_lines[:-2000]
            event = SECURITY_EVENT.search(line)
            if self.trunks.note_log_line(line):
                log.info("kamailio: %s", line)
            elif event is not None:
                self._record_security_event(event.group(1))
            else:
                log.debug("kamailio: %s", line)

    def _record_security_event(self, event: str) -> None:
        """One line per event in ``var/edge/security.log`` (what fail2ban reads) and the log."""
        security_log.warning("%s", event)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        descriptor = os.open(
            self.security_log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        with os.fdopen(descriptor, "a") as handle:
            handle.write(f"{stamp} {event}\n")

    def rpc(self, *command: str) -> str:
        """Run a Kamailio RPC (e.g. ``ul.dump``) over the control socket."""
        return kamcmd(self.ctl_socket, *command)

    def _database(self) -> Database:
        if self._db is None:
            self._db, self._owns_db = Database.from_settings(self.settings), True
        return self._db

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.join(timeout)
            self._keeper = None
        if self._phones is not None:
            self._phones.join(timeout)
            self._phones = None
        if self._owns_db and self._db is not None:
            self._db.dispose()
            self._db, self._owns_db = None, False
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Edge:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _prepare_child() -> None:
    """In the child before exec: what Kamailio creates itself (pid file, control socket) is
    private too; and Linux sends Kamailio SIGTERM if its parent dies, so a killed launcher or
    test run never leaves a Kamailio holding the SIP port."""
    os.umask(0o077)
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _is_listening(address: str, port: int) -> bool:
    return not _port_is_free(address, port)


def _kamailio_binary() -> str:
    binary = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
    )
    if binary is None:
        raise EdgeError(
            "kamailio is not installed: run `apt-get install -y kamailio "
            "kamailio-sqlite-modules kamailio-postgres-modules kamailio-presence-modules`"
        )
    return binary
