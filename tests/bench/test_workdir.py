"""bench.workdir: a benchmark's scratch directory and where its phones log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.workdir import PHONE_LOGS, scratch


def test_the_phones_log_in_the_scratch_directory_and_nothing_is_left_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PHONE_LOGS, raising=False)
    with scratch("bench-test-") as workdir:
        assert workdir.is_dir() and workdir.name.startswith("bench-test-")
        assert Path(os.environ[PHONE_LOGS]) == workdir
        (workdir / "phone-caller.log").write_text("INVITE\n")
    assert not workdir.exists()
    assert PHONE_LOGS not in os.environ


def test_a_directory_the_caller_chose_for_the_logs_is_kept_and_so_is_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(PHONE_LOGS, str(tmp_path))
    with pytest.raises(RuntimeError), scratch("bench-test-") as workdir:
        assert os.environ[PHONE_LOGS] == str(tmp_path)
        raise RuntimeError("a failed benchmark step")
    assert not workdir.exists()
    assert os.environ[PHONE_LOGS] == str(tmp_path)


def test_keep_leaves_the_files_for_a_person_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PHONE_LOGS, raising=False)
    with scratch("bench-test-", keep=True) as workdir:
        (workdir / "worker.log").write_text("503\n")
    assert (workdir / "worker.log").read_text() == "503\n"
    assert PHONE_LOGS not in os.environ
    (workdir / "worker.log").unlink()
    workdir.rmdir()
