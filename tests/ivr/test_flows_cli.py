"""`centralino flows validate|import|export` over an in-memory FlowStore."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ivr import flows_cli
from ivr.flow import DEFAULT_FLOW_PATH, load_flow

from .test_flow import VALID


class MemoryFlows:
    """A FlowStore over dicts, with support numbers assigned to flows."""

    def __init__(self) -> None:
        self.flows: dict[str, list[dict[str, Any]]] = {}
        self.numbers: dict[str, str | None] = {"+39021234": None}

    def get(self, name: str) -> Mapping[str, Any] | None:
        versions = self.flows.get(name)
        return versions[-1] if versions else None

    def put(self, name: str, document: Mapping[str, Any], number: str | None = None) -> int:
        if number is not None and number not in self.numbers:
            raise LookupError(f"no support number {number}")
        self.flows.setdefault(name, []).append(dict(document))
        if number is not None:
            self.numbers[number] = name
        return len(self.flows[name])


def run(store: MemoryFlows, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="centralino")
    flows_cli.add_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    status = flows_cli.run(parser.parse_args(argv), store, out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "support.yaml"
    good.write_text(VALID, encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text(VALID.replace("prompt: identify", "prompt: identfy"), encoding="utf-8")
    return {"good": good, "bad": bad}


def test_validate_reports_each_file(files: dict[str, Path]) -> None:
    status, out, _ = run(MemoryFlows(), "flows", "validate", str(files["good"]))
    assert status == 0
    assert out == f"{files['good']}: ok: flow 'support', 4 steps, locales en, it\n"
    status, _, err = run(MemoryFlows(), "flows", "validate", str(files["good"]), str(files["bad"]))
    assert status == 1
    assert f"{files['bad']}:23: steps[2].prompt: unknown prompt 'identfy'" in err


def test_import_stores_a_new_version_for_a_number(files: dict[str, Path]) -> None:
    store = MemoryFlows()
    assert run(store, "flows", "import", str(files["good"]), "--number", "+39021234") == (
        0,
        "imported flow 'support' version 1 for support number +39021234\n",
        "",
    )
    run(store, "flows", "import", str(files["good"]))
    assert len(store.flows["support"]) == 2
    assert store.numbers["+39021234"] == "support"


def test_broken_flow_is_not_stored(files: dict[str, Path]) -> None:
    store = MemoryFlows()
    status, _, err = run(store, "flows", "import", str(files["bad"]))
    assert status == 1
    assert "unknown prompt 'identfy'" in err
    assert err.endswith("nothing was stored\n")
    assert store.flows == {}


def test_unknown_number_is_refused(files: dict[str, Path]) -> None:
    store = MemoryFlows()
    status, _, err = run(store, "flows", "import", str(files["good"]), "--number", "999")
    assert (status, err, store.flows) == (1, "no support number 999\n", {})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run(MemoryFlows(), "flows", "validate", str(tmp_path / "nope.yaml"))
    assert status == 1
    assert "nope.yaml: document: cannot read" in err


def test_export_round_trips(files: dict[str, Path], tmp_path: Path) -> None:
    store = MemoryFlows()
    run(store, "flows", "import", str(files["good"]))
    status, text, _ = run(store, "flows", "export", "support")
    assert status == 0
    assert load_flow(text) == load_flow(VALID)
    target = tmp_path / "out.json"
    run(store, "flows", "export", "support", "--json", "-o", str(target))
    assert load_flow(target.read_text(encoding="utf-8"), str(target)) == load_flow(VALID)


def test_export_default_when_none_is_stored() -> None:
    status, text, _ = run(MemoryFlows(), "flows", "export", "default")
    assert (status, text) == (0, DEFAULT_FLOW_PATH.read_text(encoding="utf-8"))
    status, _, err = run(MemoryFlows(), "flows", "export", "nothing")
    assert (status, err) == (1, "no flow named 'nothing'\n")


def test_schema_is_printed_as_json() -> None:
    status, text, _ = run(MemoryFlows(), "flows", "schema")
    assert status == 0
    assert json.loads(text)["title"] == "Centralino IVR flow"
