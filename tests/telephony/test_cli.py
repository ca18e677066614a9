"""The ``centralino`` command: help everywhere, init, status, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["up", "init", "status", "edge", "switch", "speech", "console", "flows"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telephony.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()


def test_init_then_status(tmp_path: Path):
    env = {"CENTRALINO_VAR_DIR": str(tmp_path), "CENTRALINO_SIP_PORT": "1"}
    first = run("init", env=env)
    assert first.returncode == 0, first.stderr
    assert "SIP extension" in first.stdout and "console user" in first.stdout
    again = run("init", env=env)
    assert "already there" in again.stdout
    status = run("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "Registered devices (0)" in status.stdout and "Live calls (0)" in status.stdout


def test_bad_configuration_is_a_clear_error(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text("wokers = 2\n")
    result = run("status", "--config", str(config))
    assert result.returncode != 0
    assert "unknown setting" in result.stderr and "wokers" in result.stderr


def test_flows_import_validates_versions_and_assigns(tmp_path: Path):
    env = {"CENTRALINO_VAR_DIR": str(tmp_path)}
    assert run("init", env=env).returncode == 0
    default = Path(__file__).resolve().parents[2] / "ivr" / "default_flow.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(default.read_text().replace("prompt: identify", "prompt: identfy", 1))
    refused = run("flows", "import", str(broken), "--number", "800", env=env)
    assert refused.returncode == 1
    assert "identfy" in refused.stderr and "nothing was stored" in refused.stderr
    first = run("flows", "import", str(default), "--number", "800", env=env)
    assert first.returncode == 0, first.stderr
    second = run("flows", "import", str(default), "--number", "800", env=env)
    assert second.returncode == 0, second.stderr
    unknown = run("flows", "import", str(default), "--number", "999", env=env)
    assert unknown.returncode == 1 and "999 is not a support number" in unknown.stderr

    from store.db import Database
    from store.settings import load_settings
    from telephony.flow_store import flow_for_number

    db = Database.from_settings(load_settings(env=env))
    name, version, document = flow_for_number(db, "800")
    db.dispose()
    assert version == 2 and document["name"] == name
    exported = run("flows", "export", name, env=env)
    assert exported.returncode == 0 and name in exported.stdout


@pytest.mark.parametrize("command", ["speech", "status"])
def test_process_commands_read_the_same_configuration(command: str, tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text("speech_prot = 1\n")
    result = run(command, "--config", str(config))
    assert result.returncode != 0
    assert "speech_prot" in result.stderr
