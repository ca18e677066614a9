"""Which speech models this deployment has (installed under ``var/models/`` plus configured
``speech_models``), which support numbers they serve, and telling a running speech service to
reload them (SIGHUP to the pid in ``var/speech.pid``, then its ``/health`` is polled)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dsp.speech.install import installed_dirs
from dsp.speech.models import resolve_model_dirs
from store.settings import Settings

PID_FILE = "speech.pid"


def models_dir(settings: Settings) -> Path:
    return Path(settings.var_dir) / "models"


def pid_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / PID_FILE


def configured_models(settings: Settings) -> dict[str, str]:
    """Locale -> directory the speech service loads: installed ones, then the configured ones
    (``speech_models`` in the TOML file or ``CENTRALINO_SPEECH_MODEL_<LOCALE>``) over them."""
    return {**installed_dirs(models_dir(settings)), **settings.speech_models}


def available_locales(settings: Settings) -> dict[str, Path]:
    """Every locale with a model, including the packaged Korean one."""
    return resolve_model_dirs(configured_models(settings))


def install_command(locale: str) -> str:
    return f"centralino models install {locale}"


@dataclass(frozen=True)
class NumberSpeech:
    """Whether one support number's locale can be recognised."""

    number: str
    locale: str
    model: Path | None

    def line(self) -> str:
        if self.model is not None:
            return f"{self.number} ({self.locale}): speech model {self.model.name}"
        return (
            f"{self.number} ({self.locale}): NO speech model, callers use keys only; "
            f"add one with `{install_command(self.locale)}`"
        )


def support_numbers_speech(settings: Settings) -> list[NumberSpeech]:
    """Each support number with the model its locale would use (None: no model)."""
    from sqlalchemy import select

    from store.db import Database
    from store.models import SupportNumber

    locales = available_locales(settings)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            rows = session.execute(
                select(SupportNumber.number, SupportNumber.locale).order_by(SupportNumber.number)
            ).all()
    finally:
        db.dispose()
    return [NumberSpeech(n, loc, locales.get(loc.lower())) for n, loc in rows]


def service_health(settings: Settings, token: str, timeout: float = 2.0) -> dict[str, object]:
    """The running speech service's ``/health`` answer (raises OSError when it is not up)."""
    url = f"http://{settings.speech_address}:{settings.speech_port}/health"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    return answer if isinstance(answer, dict) else {}


def reload_service(
    settings: Settings, token: str, expect: set[str], deadline_s: float = 120.0
) -> str:
    """SIGHUP the running speech service and wait until its locales are *expect*; a sentence
    saying what happened (no service running is not an error: it loads them when started)."""
    try:
        pid = int(pid_path(settings).read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return "the speech service is not running; it loads the models when it starts"
    end = time.monotonic() + deadline_s
    locales: object = None
    while time.monotonic() < end:
        try:
            locales = service_health(settings, token).get("locales")
        except (OSError, ValueError):
            locales = None
        if isinstance(locales, list) and set(locales) == expect:
            return f"the speech service (pid {pid}) reloaded: it serves {', '.join(sorted(expect))}"
        time.sleep(0.2)
    return (
        f"the speech service (pid {pid}) did not report {', '.join(sorted(expect))} within "
        f"{deadline_s:g} s (it reports {locales}); see its log"
    )
