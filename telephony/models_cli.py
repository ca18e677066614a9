"""``centralino models list | install LOCALE-or-NAME | remove LOCALE-or-NAME``: speech models
from the official Vosk catalogue, installed under ``var/models/`` and registered there; a
running speech service is told to reload, so workers' next calls use the new model."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from dsp.speech.catalogue import CatalogueEntry, CatalogueError, choose, fetch_catalogue
from dsp.speech.download import DownloadError, ProgressBar
from dsp.speech.install import InstallError, install, installed, remove
from dsp.speech.models import PACKAGED_MODELS, packaged_model_dir
from store.settings import Settings
from store.tokens import deployment_token
from telephony.speech_models import (
    available_locales,
    configured_models,
    models_dir,
    reload_service,
)

Handler = Callable[[argparse.Namespace, Settings], int]


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size else "-"


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    here = models_dir(settings)
    registered = installed(here)
    print(f"Installed speech models ({here}):")
    rows = [(m.locale, m.name, _mb(m.bytes), "centralino models") for m in registered.values()]
    for locale in PACKAGED_MODELS:
        if (path := packaged_model_dir(locale)) is not None and locale not in registered:
            rows.append((locale, path.parent.name, "-", "Python package"))
    for locale, configured in settings.speech_models.items():
        rows.append((locale, str(configured), "-", "configuration (overrides the others)"))
    print("\n".join(f"  {a:<6} {b:<40} {c:>9}  {d}" for a, b, c, d in rows) or "  none")
    print("Serving:", ", ".join(sorted(available_locales(settings))) or "nothing")
    if args.installed:
        return 0
    try:
        entries = fetch_catalogue(args.catalogue or settings.speech_catalogue_url)
    except CatalogueError as error:
        print(f"(catalogue unavailable: {error})")
        return 0
    current = [e for e in entries if not e.obsolete]
    if args.locale:
        current = [e for e in current if e.locale == args.locale.lower() or e.lang == args.locale]
    print(f"Catalogue ({len(current)} current models; `centralino models install NAME`):")
    for entry in sorted(current, key=lambda e: (e.locale, e.lang, e.size)):
        print(
            f"  {entry.locale:<4} {entry.lang:<7} {entry.name:<40} {_mb(entry.size):>9}  "
            f"WER {entry.wer_text()}"
        )
    return 0


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    try:
        entry: CatalogueEntry = choose(
            fetch_catalogue(args.catalogue or settings.speech_catalogue_url), args.model
        )
        locale = (args.locale or (args.model if "-" not in args.model else entry.locale)).lower()
        if len(locale) > 8:
            locale = entry.locale
        print(
            f"Installing {entry.name} ({entry.lang_text}, {_mb(entry.size)}) for locale "
            f"{locale} into {models_dir(settings)}"
        )
        bar = None if args.quiet else ProgressBar(entry.name)
        model = install(entry, models_dir(settings), locale, progress=bar)
    except (CatalogueError, DownloadError, InstallError, OSError) as error:
        print(f"centralino models install: {error}", file=sys.stderr)
        return 1
    print(f"Installed {model.name} for locale {model.locale} ({_mb(model.bytes)} unpacked)")
    if locale in settings.speech_models:
        print(
            f"Note: the configuration sets speech_models.{locale} = "
            f"{settings.speech_models[locale]}, which the speech service uses instead"
        )
    _reload(args, settings)
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        model = remove(models_dir(settings), args.model)
    except (InstallError, OSError) as error:
        print(f"centralino models remove: {error}", file=sys.stderr)
        return 1
    print(f"Removed {model.name} (locale {model.locale})")
    _reload(args, settings)
    return 0


def _reload(args: argparse.Namespace, settings: Settings) -> None:
    if args.no_reload:
        return
    expect = set(available_locales(settings))
    print(reload_service(settings, deployment_token(settings), expect, args.reload_timeout))


HANDLERS: dict[str, tuple[Handler, str]] = {
    "list": (cmd_list, "installed models, what each locale has, sizes and published WER"),
    "install": (cmd_install, "download, check, unpack and register a model; reload the service"),
    "remove": (cmd_remove, "unregister and delete an installed model; reload the service"),
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``centralino models`` and its three subcommands (each with --help)."""
    text = "speech models: list, install from the Vosk catalogue, remove"
    models = sub.add_parser("models", help=text, description=text)
    models.add_argument("--config", default=None, help="TOML configuration file")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (_handler, help_text) in HANDLERS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.set_defaults(action=name)
        action.add_argument(
            "--catalogue", help="catalogue URL (default: setting speech_catalogue_url)"
        )
        if name == "list":
            action.add_argument("--locale", help="show only this locale's catalogue models")
            action.add_argument(
                "--installed", action="store_true", help="do not read the catalogue"
            )
            continue
        action.add_argument(
            "model",
            metavar="LOCALE-or-NAME",
            help="a locale (en, it, ko: the best small model for it) or a catalogue model name"
            if name == "install"
            else "the locale or model name to remove",
        )
        if name == "install":
            action.add_argument("--locale", help="serve it for this locale (default: its own)")
            action.add_argument("--quiet", action="store_true", help="no progress bar")
        action.add_argument(
            "--no-reload", action="store_true", help="do not tell the speech service to reload"
        )
        action.add_argument(
            "--reload-timeout",
            type=float,
            default=120.0,
            help="seconds to wait for the speech service to reload (default 120)",
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    handler, _help = HANDLERS[args.action]
    return handler(args, settings)


__all__ = ["add_parser", "configured_models", "run"]
