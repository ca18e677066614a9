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
PROJECT = {"dsp", "ivr", "telephony", "console", "hardware", "store", "loglines", "bench", "tests"}


@dataclass(frozen=True)
class Rule:
    project: frozenset[str]  # project packages it may import besides itself
    third_party: frozenset[str] | None = None  # None: any library not in `forbidden`
    forbidden: frozenset[str] = frozenset()


def rule(project: str = "", third_party: str | None = None, forbidden: str = "") -> Rule:
    return Rule(
        frozenset(project.split()),
        None if third_party is None else frozenset(third_party.split()),
        frozenset(forbidden.split()),
    )


#: package -> what it may import (the table "Packages and their boundaries").
RULES = {
    # websockets: the speech client and service speak the vosk-server protocol over it
    "dsp": rule("loglines", third_party="numpy numba vosk websockets"),
    "ivr": rule("dsp", third_party="numpy yaml"),
    "store": rule(third_party="sqlalchemy alembic"),
    "loglines": rule(third_party=""),
    "telephony": rule("dsp ivr store loglines"),
    "console": rule("store loglines", forbidden="pjsua2 numba"),
    "hardware": rule("store dsp loglines"),
    "bench": rule("dsp ivr store telephony console hardware loglines"),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level name) of every absolute import in *path*, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def sources(package: str, root: Path = ROOT) -> list[Path]:
    single = root / f"{package}.py"
    return [single] if single.exists() else sorted((root / package).rglob("*.py"))


def violations(package: str, allowed: Rule, root: Path = ROOT) -> list[str]:
    found = []
    for path in sources(package, root):
        for line, name in imports_of(path):
            if name == package or name in sys.stdlib_module_names:
                continue
            if name in PROJECT:
                ok = name in allowed.project
            else:
                ok = name not in allowed.forbidden and (
                    allowed.third_party is None or name in allowed.third_party
                )
            if not ok:
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
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
        "dsp/speech/late.py:5 imports store",
    ]
