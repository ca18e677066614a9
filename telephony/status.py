"""``centralino status``: what runs, which devices are registered, which calls are live."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from store.db import Database
from store.kamailio_tables import location
from store.models import Call, CallState, Worker, utcnow
from store.settings import Settings
from telephony.sizing import live_capacity


def _listening(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    if kind == socket.SOCK_DGRAM:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return True
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        Path(f"/proc/{pid}").stat()
        return pid
    except (OSError, ValueError):
        return None


def status_report(settings: Settings) -> str:
    lines = ["Processes:"]
    pid = _pid_alive(Path(settings.var_dir) / "edge" / "kamailio.pid")
    edge_up = _listening(settings.sip_address, settings.sip_port, socket.SOCK_DGRAM)
    lines.append(
        f"  kamailio  {'running' if edge_up else 'stopped':<8} "
        f"sip:{settings.sip_address}:{settings.sip_port}" + (f" pid {pid}" if pid else "")
    )
    for name, host, port in (
        ("console", settings.console_address, settings.console_port),
        ("speech", settings.speech_address, settings.speech_port),
    ):
        up = _listening(host, port)
        lines.append(f"  {name:<9} {'running' if up else 'stopped':<8} {host}:{port}")
    if settings.sqlite_path and not settings.sqlite_path.exists():
        lines.append(f"No database at {settings.sqlite_path}: run `centralino up` first.")
        return "\n".join(lines)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            fresh_since = utcnow() - timedelta(seconds=settings.stale_after_seconds)
            workers = session.scalars(select(Worker).order_by(Worker.name)).all()
            for worker in workers:
                alive = worker.alive and worker.heartbeat_at >= fresh_since
                lines.append(
                    f"  {worker.name:<9} {'running' if alive else 'gone':<8} "
                    f"sip:{worker.host}:{worker.sip_port} api {worker.api_url} "
                    f"load {worker.load}/{worker.capacity} pid {worker.pid}"
                )
            lines.append(live_capacity(db, fresh_since).describe())
            contacts = session.execute(
                select(location.c.username, location.c.contact, location.c.user_agent).order_by(
                    location.c.username
                )
            ).all()
            calls = session.scalars(
                select(Call).where(Call.state != CallState.ENDED).order_by(Call.started_at)
            ).all()
            lines.append(f"Registered devices ({len(contacts)}):")
            lines += [f"  {user:<8} {contact} {agent}" for user, contact, agent in contacts]
            lines.append(f"Live calls ({len(calls)}):")
            lines += [
                f"  {call.id} {call.state.value:<8} {call.caller} -> {call.dialled} "
                f"since {call.started_at:%H:%M:%S}"
                for call in calls
            ]
    finally:
        db.dispose()
    return "\n".join(lines + speech_lines(settings))


def speech_lines(settings: Settings) -> list[str]:
    """Per support number: does its locale have a speech model, and if not the command."""
    from sqlalchemy.exc import SQLAlchemyError

    from telephony.speech_models import support_numbers_speech

    if settings.sqlite_path and not settings.sqlite_path.exists():
        return []
    try:
        numbers = support_numbers_speech(settings)
    except SQLAlchemyError as error:  # a database not migrated yet
        return [f"Speech per support number: unknown ({error.__class__.__name__})"]
    return [f"Speech per support number ({len(numbers)}):", *(f"  {n.line()}" for n in numbers)]
