"""The ``centralino`` command: one entry point, a subcommand per process or admin task."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from loglines import setup_logging
from store.private_files import private_umask
from store.settings import Settings, load_settings
from store.tokens import deployment_token

PASS_THROUGH = {
    # subcommand -> (module, help); these parse their own arguments (try `--help`).
    "switch": ("telephony.worker", "run one switch worker (a pjsua2 B2BUA process)"),
    "speech": ("telephony.cli", "run the speech service (vosk-server WebSocket protocol)"),
    "console": ("console.app", "run the Flask console (agent, supervisor, admin)"),
    "analytics": ("analytics.runner", "analyse ended calls the workers left (talk, mood, summary)"),
    "headset": ("hardware.headset.cli", "the agent's headset as their phone (PyAudio, HID)"),
}


def main_speech(argv: list[str]) -> int:
    """``centralino speech``: the speech service on the configured address, port and models."""
    from dsp.speech import server

    rest, config = list(argv), None
    if "--config" in rest:
        at = rest.index("--config")
        config = rest[at + 1] if at + 1 < len(rest) else None
        del rest[at : at + 2]
    from store.private_files import write_private
    from telephony.speech_models import configured_models, pid_path

    asking = "--help" in rest or "-h" in rest
    try:
        settings = load_settings(config)
        token = None if asking else deployment_token(settings)
        models = configured_models(settings)
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f"centralino speech: {error}") from error

    def reread() -> dict[str, str]:
        return configured_models(load_settings(config))

    pid_file = pid_path(settings)
    if not asking:
        write_private(pid_file, f"{os.getpid()}\n")  # `centralino models` signals it to reload
    try:
        return server.main(
            rest,
            host=settings.speech_address,
            port=settings.speech_port,
            models=models,
            token=token,
            limits=settings.speech_limits,
            origins=settings.speech_origins,
            model_source=reread,
        )
    finally:
        if not asking and _read(pid_file) == str(os.getpid()):
            pid_file.unlink(missing_ok=True)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = load_settings(args.config)
        if settings.deployment_token:
            deployment_token(settings)  # a configured token must be usable: say so now
        return settings
    except (OSError, ValueError) as error:
        raise SystemExit(f"centralino: {error}") from error


def cmd_up(args: argparse.Namespace) -> int:
    from telephony.up import run_up

    return run_up(_settings(args), args.config, not args.no_speech, not args.no_console)


def cmd_init(args: argparse.Namespace) -> int:
    from telephony.up import credentials_path, prepare_database, print_banner

    settings = _settings(args)
    created = prepare_database(settings)
    print("database ready at", settings.database_url)
    if created is None:
        print("demo data was already there; its credentials are in", credentials_path(settings))
    else:
        print_banner(settings, running=False, fresh=created)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from telephony.status import status_report

    print(status_report(_settings(args)))
    return 0


def cmd_edge(args: argparse.Namespace) -> int:
    import signal
    import threading

    from store.db import Database
    from telephony.edge import Edge, sync_trunk_registrations

    settings = _settings(args)
    db = Database.from_settings(settings)
    sync_trunk_registrations(db, settings)
    edge = Edge(settings)
    if args.check:
        edge.check_config()
        print(f"{edge.config_path}: Kamailio accepts it")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    edge.start()
    edge.keep_workers_in_sync(db)
    try:
        while not stop.wait(1.0):
            if edge.process is None or edge.process.poll() is not None:
                print("\n".join(edge.log_lines[-20:]), file=sys.stderr)
                return 1
    finally:
        edge.stop()
    return 0


def cmd_flows(args: argparse.Namespace) -> int:
    from ivr import flows_cli
    from store.db import Database
    from store.flows import DatabaseFlowStore

    db = Database.from_settings(_settings(args))
    try:
        return flows_cli.run(args, DatabaseFlowStore(db))
    finally:
        db.dispose()


def cmd_models(args: argparse.Namespace) -> int:
    from telephony import models_cli

    return models_cli.run(args, _settings(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralino",
        description="Voice-first contact-center telephony controller.",
        epilog="Configuration: --config FILE (TOML) or CENTRALINO_CONFIG, plus CENTRALINO_* "
        "environment variables. Every subcommand has --help.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--config", default=None, help="TOML configuration file")
        command.set_defaults(handler=handler)
        return command

    up = add("up", cmd_up, "start everything on this machine (edge, workers, speech, console)")
    up.add_argument("--no-speech", action="store_true", help="do not start the speech service")
    up.add_argument("--no-console", action="store_true", help="do not start the console")
    add("init", cmd_init, "create or upgrade the database and seed demo data once")
    add("status", cmd_status, "show what runs, registered devices and live calls")
    edge = add("edge", cmd_edge, "run the Kamailio SIP edge alone")
    edge.add_argument("--check", action="store_true", help="only check the rendered config")
    from ivr import flows_cli

    flows = flows_cli.add_parser(sub)
    flows.add_argument("--config", default=None, help="TOML configuration file")
    flows.set_defaults(handler=cmd_flows)
    from telephony import models_cli

    models_cli.add_parser(sub)
    sub.choices["models"].set_defaults(handler=cmd_models)
    for name, (_module, text) in PASS_THROUGH.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    private_umask()  # whatever any subcommand (and its children) creates under var/ is private
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Process entry points parse their own options; hand them the rest of the line untouched.
    position = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if position is not None and argv[position] in PASS_THROUGH:
        log_level = None
        if "--log-level" in argv[:position]:
            log_level = argv[argv.index("--log-level") + 1]
        setup_logging(log_level)
        command = argv[position]
        if command == "speech":
            return main_speech(argv[position + 1 :])
        module = __import__(PASS_THROUGH[command][0], fromlist=["main"])
        return int(module.main(argv[position + 1 :]) or 0)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
