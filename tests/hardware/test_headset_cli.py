"""`centralino headset` as a command: help, usage errors and where the password comes from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hardware.headset.cli import PASSWORD_ENV, build_parser, main, read_password

ROOT = Path(__file__).resolve().parents[2]


def test_help_names_every_option_and_the_exit_codes() -> None:
    result = subprocess.run([sys.executable, "-m", "telephony.cli", "headset", "--help"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--extension", "--server", "--password-file", "--device", "--list-devices",
                   "--ring-device", "--echo-canceller", "--hid", "--console-url"):
        assert option in result.stdout
    assert "3 the edge refused the credentials" in result.stdout


def test_missing_or_odd_arguments_exit_2_and_say_what_is_needed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert "--extension and --server are needed" in capsys.readouterr().err
    assert main(["--extension", "10;01", "--server", "127.0.0.1"]) == 2
    assert "letters and digits" in capsys.readouterr().err


def test_the_password_comes_from_the_file_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    args = build_parser().parse_args(["--extension", "1001", "--password-file", str(secret)])
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert read_password(args) == "from-file"
    args = build_parser().parse_args(["--extension", "1001"])
    assert read_password(args) == "from-env"
    monkeypatch.delenv(PASSWORD_ENV)
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115 - not a terminal
    with pytest.raises(SystemExit, match="--password-file"):
        read_password(args)
    args = build_parser().parse_args(["--password-file", str(tmp_path / "missing")])
    with pytest.raises(SystemExit, match="cannot read the password file"):
        read_password(args)
