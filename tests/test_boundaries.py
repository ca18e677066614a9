"""Dependencies point one way: each package imports only what docs/architecture.md allows.

One row per package (subpackages included): the project packages it may import, and for the
inner packages the only third-party libraries it may use. The standard library is always
allowed; `loglines` (standard library only) is the log set-up every process entry point calls.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {
    "analytics", "dsp", "ivr", "telephony", "console", "hardware", "store", "loglines", "bench",
    "tests",
}


@dataclass(frozen=True)
class Rule:
    project: frozenset[str]  # project packages (or dotted modules) it may import besides itself
    third_party: frozenset[str] | None = None  # None: any library not in `forbidden`
    forbidden: frozenset[str] = frozenset()
    #: a subpackage's own package may be imported only through these modules (None: freely)
    own: frozenset[str] | None = None


def rule(project: str = "", third_party: str | None = None, forbidden: str = "",
         own: str | None = None) -> Rule:
    return Rule(
        frozenset(project.split()),
        None if third_party is None else frozenset(third_party.split()),
        frozenset(forbidden.split()),
        None if own is None else frozenset(own.split()),
    )


#: package -> what it may import (the table "Packages and their boundaries").
RULES = {
    # websockets: the speech client and service speak the vosk-server protocol over it
    "dsp": rule("loglines", third_party="numpy numba vosk websockets"),
    "ivr": rule("dsp", third_party="numpy yaml"),
    "store": rule(third_party="sqlalchemy alembic"),
    "loglines": rule(third_party=""),
    # the switch reads vendors' check-sync events and auto-answer headers (pure modules)
    "telephony": rule("dsp ivr store loglines hardware.provisioning analytics"),
    # the analysis of ended calls reads and writes the store only (pure ivr/dsp helpers allowed)
    "analytics": rule("store ivr dsp", third_party="sqlalchemy", forbidden="pjsua2 numba"),
    # the flow editor validates with the IVR's own reader (ivr.flow, ivr.document: no numba);
    # the thresholds page reads the alert rules' registry (ivr.alerts without its watch)
    # the flow editor rehearses (ivr.rehearsal), previews and stores recorded prompts (ivr.prompts,
    # ivr.recordings: espeak-ng and sox, no numba) and knows which prompts are spoken only
    # (ivr.flow_schema, ivr.survey: pure)
    "console": rule(
        "store loglines hardware.provisioning ivr.flow ivr.document ivr.alerts analytics "
        "ivr.accounts ivr.prompts ivr.recordings ivr.rehearsal ivr.flow_schema ivr.survey",
        forbidden="pjsua2 numba",
    ),
    # the headset is a SIP user agent: pjsua2, through telephony's endpoint set-up and frame copy
    "hardware": rule("store dsp loglines telephony.endpoint telephony.media_frames"),
    # vendor modules are pure: rendered by the console, read by the switch
    "hardware.provisioning": rule(
        third_party="", forbidden="pjsua2", own="hardware.provisioning"
    ),
    "bench": rule("dsp ivr store telephony console hardware loglines analytics"),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import in *path*, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def sources(package: str, root: Path = ROOT) -> list[Path]:
    single = root / f"{package}.py"
    folder = root.joinpath(*package.split("."))
    return [single] if single.exists() else sorted(folder.rglob("*.py"))


def within(module: str, allowed: frozenset[str]) -> bool:
    return any(module == entry or module.startswith(entry + ".") for entry in allowed)


def violations(package: str, allowed: Rule, root: Path = ROOT) -> list[str]:
    found = []
    top = package.split(".")[0]
    for path in sources(package, root):
        for line, module in imports_of(path):
            name = module.split(".")[0]
            if name in sys.stdlib_module_names:
                continue
            if name == top:
                ok = allowed.own is None or within(module, allowed.own)
            elif name in PROJECT:
                ok = within(module, allowed.project)
            else:
                ok = name not in allowed.forbidden and (
                    allowed.third_party is None or name in allowed.third_party
                )
            if not ok:
                shown = module if name == top or name in PROJECT else name
                found.append(f"{path.relative_to(root)}:{line} imports {shown}")
    return found


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_what_its_row_allows(package: str) -> None:
    assert sources(package), f"{package}: no sources found"
    assert violations(package, RULES[package]) == []


def test_imports_anywhere_in_a_subpackage_are_checked(tmp_path: Path) -> None:
    nested = tmp_path / "dsp" / "speech"
    nested.mkdir(parents=True)
    (tmp_path / "dsp" / "__init__.py").write_text("import numpy\nfrom dsp import clock\n")
    (nested / "late.py").write_text(
        "import os\n\ndef late():\n    import pjsua2\n    from store.models import Call\n"
    )
    assert violations("dsp", RULES["dsp"], tmp_path) == [
        "dsp/speech/late.py:4 imports pjsua2",
        "dsp/speech/late.py:5 imports store.models",
    ]


def test_hardware_may_reuse_only_the_endpoint_of_telephony(tmp_path: Path) -> None:
    (tmp_path / "hardware" / "headset").mkdir(parents=True)
    (tmp_path / "hardware" / "headset" / "phone.py").write_text(
        "import pjsua2\nfrom telephony.endpoint import start_endpoint\n"
        "from telephony.worker import Worker\nimport telephony\n"
    )
    assert violations("hardware", RULES["hardware"], tmp_path) == [
        "hardware/headset/phone.py:3 imports telephony.worker",
        "hardware/headset/phone.py:4 imports telephony",
    ]


def test_provisioning_stays_pure_and_is_all_the_console_may_use_of_hardware(
    tmp_path: Path,
) -> None:
    (tmp_path / "hardware" / "provisioning").mkdir(parents=True)
    (tmp_path / "hardware" / "provisioning" / "acme.py").write_text(
        "import re\nfrom hardware.provisioning.base import Vendor\nimport pjsua2\n"
        "from hardware.headset import phone\nimport numpy\n"
    )
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "phones.py").write_text(
        "from hardware.provisioning import VENDORS\nfrom hardware.headset import phone\n"
    )
    assert violations("hardware.provisioning", RULES["hardware.provisioning"], tmp_path) == [
        "hardware/provisioning/acme.py:3 imports pjsua2",
        "hardware/provisioning/acme.py:4 imports hardware.headset",
        "hardware/provisioning/acme.py:5 imports numpy",
    ]
    assert violations("console", RULES["console"], tmp_path) == [
        "console/phones.py:2 imports hardware.headset",
    ]
