"""`centralino models` against a loopback stand-in for the Vosk model site: install with progress,
resume after a broken download, integrity refusals that leave nothing installed, list, remove."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.cli import main
from telephony.testing.model_server import ModelSite, model_site, zip_model


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ModelSite]:
    """A tiny fake model (the layout Vosk checks, not a loadable model) in a catalogue."""
    model = tmp_path / "src"
    (model / "am").mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(bytes(range(256)) * 2000)  # 512 kB
    (model / "conf").mkdir()
    (model / "conf" / "model.conf").write_text("--sample-frequency=16000\n")
    archive = zip_model(model, tmp_path / "vosk-model-small-xx-0.1.zip", "vosk-model-small-xx-0.1")
    with model_site() as served:
        served.add_model(archive, "en-us", "vosk-model-small-en-us-test")
        served.add_model(archive, "en-in", "vosk-model-small-en-in-test")
        served.add_model(archive, "it", "vosk-model-small-it-0.22")
        served.add_model(archive, "it", "vosk-model-it-old", obsolete="true")
        yield served


def centralino(tmp_path: Path, *argv: str) -> int:
    config = tmp_path / "c.toml"
    if not config.exists():
        config.write_text(f'var_dir = "{tmp_path / "var"}"\n')
    return main(["models", "--config", str(config), *argv])


def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "models"


def visible(path: Path) -> list[str]:
    """Everything under the models directory except the (empty) downloads folder."""
    return sorted(
        str(p.relative_to(path)) for p in path.rglob("*") if ".downloads" not in p.parts
    )


def test_install_shows_progress_registers_and_lists(
    tmp_path: Path, site: ModelSite, capsys: pytest.CaptureFixture[str]
) -> None:
    assert centralino(tmp_path, "install", "en", "--catalogue", site.catalogue_url) == 0
    out = capsys.readouterr()
    assert "Installing vosk-model-small-en-us-test" in out.out  # en -> en-us, not en-in
    assert "100%" in out.err and "[" + "#" * 30 + "]" in out.err
    assert "the speech service is not running" in out.out
    registry = json.loads((models_dir(tmp_path) / "installed.json").read_text())
    assert registry["models"]["en"]["name"] == "vosk-model-small-en-us-test"
    assert (models_dir(tmp_path) / "vosk-model-small-en-us-test" / "am" / "final.mdl").is_file()
    assert not list((models_dir(tmp_path) / ".downloads").iterdir())  # the archive is gone

    assert centralino(tmp_path, "list", "--catalogue", site.catalogue_url) == 0
    listing = capsys.readouterr().out
    assert "en     vosk-model-small-en-us-test" in listing
    assert "WER 16.88% cv test" in listing  # the published figure for the Italian model
    assert "vosk-model-it-old" not in listing  # obsolete models are not offered
    assert "Serving:" in listing and "en" in listing.split("Serving:")[1]

    assert centralino(tmp_path, "remove", "en") == 0
    assert not (models_dir(tmp_path) / "vosk-model-small-en-us-test").exists()
    assert json.loads((models_dir(tmp_path) / "installed.json").read_text())["models"] == {}
    assert centralino(tmp_path, "remove", "en") == 1
    assert "no installed model for 'en'" in capsys.readouterr().err


def test_a_broken_download_installs_nothing_and_resumes(
    tmp_path: Path, site: ModelSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.break_after = 200_000
    assert centralino(tmp_path, "install", "it", "--catalogue", site.catalogue_url) == 1
    err = capsys.readouterr().err
    assert "stopped at 200000 of" in err and "again to resume" in err
    assert visible(models_dir(tmp_path)) == []  # no model, no registry
    assert centralino(tmp_path, "install", "it", "--catalogue", site.catalogue_url) == 0
    assert site.ranges == ["bytes=200000-"]  # only the rest was asked for
    registry = json.loads((models_dir(tmp_path) / "installed.json").read_text())
    assert registry["models"]["it"]["name"] == "vosk-model-small-it-0.22"


@pytest.mark.parametrize(
    ("override", "message"),
    [({"md5": "0" * 32}, "has md5"), ({"size": 1234}, "the catalogue says 1234")],
)
def test_integrity_failures_are_refused(
    tmp_path: Path,
    site: ModelSite,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, object],
    message: str,
) -> None:
    site.catalogue[0].update(override)  # a size shorter than the file must not pass either
    assert centralino(tmp_path, "install", "en", "--catalogue", site.catalogue_url) == 1
    err = capsys.readouterr().err
    assert message in err and "refused and deleted (nothing was installed)" in err
    assert visible(models_dir(tmp_path)) == []
    assert not list((models_dir(tmp_path) / ".downloads").iterdir())


def test_an_archive_without_a_model_or_escaping_is_refused(
    tmp_path: Path, site: ModelSite, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as bundle:
        bundle.writestr("vosk-model-x/README", "not a model")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../../escaped/am/final.mdl", "x")
    site.add_model(bad, "fr", "vosk-model-small-fr-test")
    site.add_model(evil, "de", "vosk-model-small-de-test")
    assert centralino(tmp_path, "install", "fr", "--catalogue", site.catalogue_url) == 1
    assert "holds no Vosk model" in capsys.readouterr().err
    assert centralino(tmp_path, "install", "de", "--catalogue", site.catalogue_url) == 1
    assert "escapes the archive" in capsys.readouterr().err
    assert visible(models_dir(tmp_path)) == []
    assert not (tmp_path / "escaped").exists()


def test_unknown_locale_and_help(
    tmp_path: Path, site: ModelSite, capsys: pytest.CaptureFixture[str]
) -> None:
    assert centralino(tmp_path, "install", "xx", "--catalogue", site.catalogue_url) == 1
    assert "no model named or for locale 'xx'; locales: en, it" in capsys.readouterr().err
    for argv in (["--help"], ["install", "--help"], ["list", "--help"], ["remove", "--help"]):
        with pytest.raises(SystemExit) as done:
            centralino(tmp_path, *argv)
        assert done.value.code == 0
        assert "usage: centralino models" in capsys.readouterr().out
