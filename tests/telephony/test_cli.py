"""The ``centralino`` command: help everywhere, init, status, clear errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["up", "init", "status", "edge", "switch", "speech", "console", "flows", "models"]


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
    # the demo support number is English; only the Korean model comes with the install
    line = "800 (en): NO speech model, callers use keys only; add one with "
    assert line + "`centralino models install en`" in status.stdout
    assert line in first.stdout  # the banner says it too


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
    from store.flows import flow_for_number
    from store.settings import load_settings

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


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_keeps_var_private_and_prints_the_demo_passwords_only_once(tmp_path: Path):
    var = tmp_path / "var"
    env = {"CENTRALINO_VAR_DIR": str(var), "CENTRALINO_SIP_PORT": "1"}
    first = run("init", env=env)
    assert first.returncode == 0, first.stderr
    secrets = [
        line.split(" ", 2)[2]
        for line in (var / "demo-credentials.txt").read_text().splitlines()
        if line.startswith(("console ", "sip "))
    ]
    assert secrets and all(secret in first.stdout for secret in secrets)
    database = var / "centralino.sqlite"
    private = [database, var / "deployment-token", var / "demo-credentials.txt"]
    private += [
        p for p in (var / "centralino.sqlite-wal", var / "centralino.sqlite-shm") if p.exists()
    ]
    assert mode(var) == 0o700
    assert {p.name: mode(p) for p in private} == {p.name: 0o600 for p in private}
    token = (var / "deployment-token").read_text().strip()
    assert len(token) >= 32 and token not in first.stdout

    # An installation made before: world-readable files are closed again by the next run.
    var.chmod(0o755)
    database.chmod(0o644)
    again = run("init", env=env)
    assert again.returncode == 0, again.stderr
    assert not any(secret in again.stdout for secret in secrets)
    assert str(var / "demo-credentials.txt") in again.stdout
    assert mode(var) == 0o700 and mode(database) == 0o600
    assert (var / "deployment-token").read_text().strip() == token  # made once, then kept

    # The edge's rendered configuration is written under the same umask.
    check = run("edge", "--check", env=env)
    assert check.returncode == 0, check.stderr
    edge_files = [p for p in (var / "edge").iterdir() if p.is_file()]
    assert edge_files and all(mode(p) == 0o600 for p in edge_files), edge_files
    assert mode(var / "edge") == 0o700


def test_a_short_deployment_token_is_a_clear_error(tmp_path: Path):
    env = {"CENTRALINO_VAR_DIR": str(tmp_path), "CENTRALINO_DEPLOYMENT_TOKEN": "short"}
    result = run("init", env=env)
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_a_later_runs_banner_names_the_credentials_file_not_the_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from store.settings import Settings
    from telephony.up import print_banner

    (tmp_path / "demo-credentials.txt").write_text("console alice s3cret-pass\nsip 1001 sip-pass\n")
    print_banner(Settings(var_dir=tmp_path))
    out = capsys.readouterr().out
    assert "s3cret-pass" not in out and "sip-pass" not in out
    assert str(tmp_path / "demo-credentials.txt") in out
