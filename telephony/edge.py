"""The SIP edge: Kamailio's configuration rendered from the settings, run as a child process.

Kamailio is the registrar (digest auth against ``devices``), the dispatcher in front of the
switch workers and the client of our carrier registrations (``uacreg``, derived from
``trunks``). It runs in the foreground with its runtime files under ``var/edge``, so no
root-owned path is needed.
"""

from __future__ import annotations

import ctypes
import logging
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select

from store.db import Database
from store.kamailio_tables import uacreg
from store.models import Trunk, Worker, utcnow
from store.settings import Settings

log = logging.getLogger("centralino.edge")

TEMPLATE = Path(__file__).with_name("kamailio.cfg.tmpl")
MODULE_PATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


class EdgeError(RuntimeError):
    """Kamailio could not be configured or started."""


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
    authfail_limit: int = 30
    authfail_window_s: int = 120


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
        "AUTHFAIL_WINDOW_S": tuning.authfail_window_s,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"%%{name}%%", str(value))
    if "%%" in text:
        missing = text[text.index("%%") : text.index("%%") + 40]
        raise EdgeError(f"template placeholder left unfilled near {missing!r}")
    return text


def sync_trunk_registrations(db: Database, settings: Settings) -> int:
    """Rewrite ``uacreg`` from the enabled trunks; Kamailio's uac module reads it at start."""
    with db.session() as session:
        trunks = session.scalars(select(Trunk).where(Trunk.enabled)).all()
        session.execute(delete(uacreg))
        for trunk in trunks:
            session.execute(
                insert(uacreg).values(
                    l_uuid=f"trunk-{trunk.name}",
                    l_username=f"trunk-{trunk.name}",
                    l_domain=settings.sip_domain,
                    r_username=trunk.username,
                    r_domain=trunk.registrar,
                    realm=trunk.realm,
                    auth_username=trunk.username,
                    auth_password=trunk.secret,
                    auth_proxy=f"sip:{trunk.proxy or trunk.registrar}",
                    expires=trunk.expires,
                )
            )
        return len(trunks)


def live_worker_destinations(db: Database, stale_after_seconds: float) -> list[str]:
    """SIP URIs of the workers to route to, in a stable order: those with a fresh heartbeat;
    when none is fresh, every worker not known dead (a busy machine can delay heartbeats, and
    trying a slow worker beats refusing every caller; a dead one still fails over on timeout)."""
    fresh_since = utcnow() - timedelta(seconds=stale_after_seconds)
    with db.session() as session:
        rows = session.execute(
            select(Worker.host, Worker.sip_port, Worker.heartbeat_at >= fresh_since)
            .where(Worker.alive)
            .order_by(Worker.name)
        ).all()
    fresh = [f"sip:{host}:{port}" for host, port, is_fresh in rows if is_fresh]
    return fresh or [f"sip:{host}:{port}" for host, port, _ in rows]


def _port_is_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


class Edge:
    """One Kamailio process configured for *settings*; ``start()``/``stop()`` or a ``with``."""

    def __init__(self, settings: Settings, tuning: EdgeTuning | None = None) -> None:
        self.settings = settings
        self.tuning = tuning or EdgeTuning()
        self.run_dir = Path(settings.var_dir) / "edge"
        self.config_path = self.run_dir / "kamailio.cfg"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_thread: threading.Thread | None = None
        self.log_lines: list[str] = []
        self.destinations: list[str] = []
        self._keeper: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def ctl_socket(self) -> str:
        return f"unix:{self.run_dir}/kamailio_ctl"

    @property
    def dispatcher_list(self) -> Path:
        return self.run_dir / "dispatcher.list"

    def set_workers(self, destinations: list[str]) -> bool:
        """Point dispatcher set 1 at *destinations*, reloading Kamailio; True if they changed."""
        if destinations == self.destinations and self.dispatcher_list.exists():
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        staged = self.dispatcher_list.with_suffix(".tmp")
        staged.write_text("".join(f"1 {uri} 0 0\n" for uri in destinations))
        staged.replace(self.dispatcher_list)
        if self.process is not None and self.process.poll() is None:
            self.rpc("dispatcher.reload")
        self.destinations = list(destinations)  # only once Kamailio routes to them
        log.info("switch workers: %s", ", ".join(destinations) or "none")
        return True

    def keep_workers_in_sync(self, db: Database, interval: float | None = None) -> None:
        """Follow the live workers (fresh heartbeats) in a background thread until stop()."""
        every = interval or self.settings.heartbeat_seconds

        def follow() -> None:
            while not self._stopping.wait(every):
                try:
                    self.set_workers(
                        live_worker_destinations(db, self.settings.stale_after_seconds)
                    )
                except Exception:  # a busy database or a restarting Kamailio: try again
                    log.exception("could not refresh the switch workers")

        self.set_workers(live_worker_destinations(db, self.settings.stale_after_seconds))
        self._keeper = threading.Thread(target=follow, name="edge-workers", daemon=True)
        self._keeper.start()

    def write_config(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(self.settings, self.run_dir, self.tuning))
        return self.config_path

    def check_config(self) -> None:
        """Let Kamailio parse the rendered file; raise with its own words when it refuses."""
        binary = _kamailio_binary()
        if not self.dispatcher_list.exists():
            self.set_workers(self.destinations)
        result = subprocess.run(
            [binary, "-c", "-f", str(self.write_config())], capture_output=True, text=True
        )
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
            raise EdgeError("Kamailio refused its configuration:\n" + "\n".join(errors[-10:]))

    def start(self) -> None:
        if not _port_is_free(self.settings.sip_address, self.settings.sip_port):
            raise EdgeError(
                f"SIP port {self.settings.sip_address}:{self.settings.sip_port} is in use: "
                "stop the other SIP server or set sip_port / CENTRALINO_SIP_PORT"
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
            preexec_fn=_die_with_parent,
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
        log.info("edge listening on %s:%s", self.settings.sip_address, self.settings.sip_port)

    def _pump_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log_lines.append(line)
            del self.log_lines[:-2000]
            log.debug("kamailio: %s", line)

    def rpc(self, *command: str) -> str:
        """Run a Kamailio RPC (e.g. ``ul.dump``) over the control socket."""
        kamcmd = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
        result = subprocess.run(
            [kamcmd, "-s", self.ctl_socket, *command], capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise EdgeError(f"kamcmd {' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._keeper is not None:
            self._keeper.join(timeout)
            self._keeper = None
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


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM Kamailio if its parent dies, so a killed
    supervisor or test run never leaves a Kamailio holding the SIP port."""
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
            "kamailio-sqlite-modules kamailio-postgres-modules`"
        )
    return binary
