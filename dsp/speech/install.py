"""Installed speech models: unpacking an archive into the models directory atomically, and the
registry (``installed.json`` there) that says which model serves which locale.

An archive is unpacked into a hidden staging directory beside its destination, checked to be a
Vosk model, and only then renamed into place; the registry is rewritten by rename too. So a
broken archive, a full disk or Ctrl-C leaves the previous state (no half-installed model).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from dsp.speech.catalogue import CatalogueEntry
from dsp.speech.download import Progress, download
from dsp.speech.models import ModelError, check_model_dir

REGISTRY = "installed.json"
DOWNLOADS = ".downloads"


class InstallError(RuntimeError):
    """An archive is not a usable model, or what was asked to remove is not installed."""


@dataclass(frozen=True)
class InstalledModel:
    """One registered model: *directory* is relative to the models directory."""

    locale: str
    name: str
    directory: str
    bytes: int
    archive_bytes: int = 0
    md5: str = ""
    installed_at: str = ""

    def path(self, models_dir: Path) -> Path:
        return (models_dir / self.directory).resolve()


def installed(models_dir: Path) -> dict[str, InstalledModel]:
    """Locale -> installed model, from the registry (empty when there is none)."""
    try:
        document = json.loads((models_dir / REGISTRY).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise InstallError(f"{models_dir / REGISTRY} is not valid JSON ({exc})") from None
    return {loc: InstalledModel(**item) for loc, item in document.get("models", {}).items()}


def installed_dirs(models_dir: Path) -> dict[str, str]:
    """Locale -> model directory of every registered model (what the speech service loads)."""
    return {loc: str(m.path(models_dir)) for loc, m in installed(models_dir).items()}


def _write_registry(models_dir: Path, models: dict[str, InstalledModel]) -> None:
    body = {"models": {loc: asdict(m) for loc, m in sorted(models.items())}}
    handle, temporary = tempfile.mkstemp(prefix=".installed.", dir=models_dir)
    with os.fdopen(handle, "w") as out:
        json.dump(body, out, indent=2)
        out.write("\n")
    os.replace(temporary, models_dir / REGISTRY)


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _extract(archive: Path, staging: Path) -> None:
    """Unpack *archive* into *staging*, refusing members that would land outside it."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            root = staging.resolve()
            for member in bundle.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise InstallError(f"{archive.name}: member {member!r} escapes the archive")
            bundle.extractall(staging)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InstallError(f"{archive.name} is not a readable zip archive ({exc})") from None


def _model_root(staging: Path) -> Path:
    """The model inside an unpacked archive: the staging directory or its one subdirectory."""
    entries = [p for p in staging.iterdir() if not p.name.startswith("__MACOSX")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return staging


def unpack(archive: Path, models_dir: Path, name: str, locale: str) -> Path:
    """Unpack *archive* as ``models_dir/name`` (replacing one already there), atomically."""
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".unpack-{name}.", dir=models_dir))
    try:
        _extract(archive, staging)
        root = _model_root(staging)
        try:
            check_model_dir(locale, root)
        except ModelError:
            raise InstallError(
                f"{archive.name} holds no Vosk model (no am/final.mdl): nothing was installed"
            ) from None
        final = models_dir / name
        old = None
        if final.exists():
            old = final.with_name(f".old-{name}-{os.getpid()}")
            os.rename(final, old)
        os.rename(root, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(
    entry: CatalogueEntry,
    models_dir: Path,
    locale: str | None = None,
    progress: Progress | None = None,
    fetch: Callable[..., Path] = download,
) -> InstalledModel:
    """Download, check, unpack and register *entry* for *locale* (default: its own)."""
    locale = (locale or entry.locale).lower()
    models_dir.mkdir(parents=True, exist_ok=True)
    archive = models_dir / DOWNLOADS / f"{entry.name}.zip"
    fetch(
        entry.url, archive, size=entry.size, md5=entry.md5, sha256=entry.sha256, progress=progress
    )
    try:
        directory = unpack(archive, models_dir, entry.name, locale)
    finally:
        archive.unlink(missing_ok=True)
    model = InstalledModel(
        locale=locale,
        name=entry.name,
        directory=directory.name,
        bytes=_tree_bytes(directory),
        archive_bytes=entry.size,
        md5=entry.md5,
        installed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    models = installed(models_dir)
    replaced = models.get(locale)
    models[locale] = model
    _write_registry(models_dir, models)
    if replaced is not None and all(m.directory != replaced.directory for m in models.values()):
        shutil.rmtree(models_dir / replaced.directory, ignore_errors=True)
    return model


def remove(models_dir: Path, wanted: str) -> InstalledModel:
    """Unregister the model of locale or name *wanted*, then delete its directory."""
    models = installed(models_dir)
    found = models.get(wanted.lower()) or next(
        (m for m in models.values() if m.name == wanted), None
    )
    if found is None:
        have = ", ".join(f"{m.locale} ({m.name})" for m in models.values()) or "none"
        raise InstallError(f"no installed model for {wanted!r}; installed: {have}")
    del models[found.locale]
    _write_registry(models_dir, models)
    if not any(m.directory == found.directory for m in models.values()):
        doomed = models_dir / f".removing-{found.directory}-{os.getpid()}"
        os.rename(models_dir / found.directory, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return found
