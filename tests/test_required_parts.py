"""Required parts are required: under CI=true a missing part fails with the package to
install, a stray skip fails, optional extras still skip, and every skip is listed at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import parts

ROOT = Path(__file__).resolve().parent.parent

PROBE = '''
import pytest
from tests.harness import parts
parts.PARTS["nothing-here"] = (lambda: False, "apt-get install -y nothing-here")

def test_a_missing_part():
    parts.require("nothing-here")

def test_a_stray_skip():
    pytest.skip("no reason given")

def test_an_optional_extra():
    parts.optional("gadget", "a vendor SDK that is not packaged")
'''


def run_probe(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-q", "--rootdir", str(tmp_path), str(probe)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_under_ci_a_missing_part_and_a_stray_skip_fail_and_extras_skip(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "2 failed, 1 skipped" in result.stdout, result.stdout
    assert "required part nothing-here is missing: apt-get install -y nothing-here" in (
        result.stdout)
    assert "only optional extras may skip" in result.stdout
    assert "optional extra gadget: a vendor SDK that is not packaged" in result.stdout


def test_outside_ci_missing_parts_skip_and_are_listed_with_their_reason(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "")
    assert result.returncode == 0, result.stdout
    summary = result.stdout.split("skipped (optional extras, or parts missing outside CI)")[1]
    assert "test_a_missing_part: " in summary and "apt-get install -y nothing-here" in summary
    assert "test_an_optional_extra: " in summary


def test_every_real_part_is_here_on_this_machine() -> None:
    """The project's machines have them all (scripts/install.sh): none may be missing."""
    absent = [message for name in parts.PARTS if (message := parts.missing(name))]
    assert absent == []


def test_require_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(parts.PARTS, "nothing-here", (lambda: False, "apt-get install -y x"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y x"):
        parts.require("nothing-here")
