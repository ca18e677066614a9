"""ivr depends on dsp at most: never on telephony, console or store."""

from __future__ import annotations

import ast
from pathlib import Path

import ivr

FORBIDDEN = {"telephony", "console", "store", "hardware", "pjsua2", "sqlalchemy", "flask"}


def test_ivr_imports_no_outer_package() -> None:
    found = []
    for path in sorted(Path(ivr.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert found == []
