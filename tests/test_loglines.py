"""The one log format: every process writes ``ts= level= logger= pid=`` then event or msg."""

from __future__ import annotations

import ast
import io
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loglines import LogLineFormatter, quoted, setup_logging

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(
    r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(?P<level>[A-Z]+) "
    r"logger=(?P<logger>\S+) pid=(?P<pid>\d+) (?P<body>.*)$"
)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Leave the root logger as pytest had it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def body(line: str) -> str:
    """What follows ``pid=`` in a well-formed line."""
    found = LINE.match(line)
    assert found, line
    return found["body"]


def record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("centralino.switch", level, __file__, 1, message, args, None)


def test_a_free_text_message_becomes_a_quoted_msg() -> None:
    line = LogLineFormatter().format(record('switch-1 ready: "sip" %s\nnext', "127.0.0.1:5081"))
    found = LINE.match(line)
    assert found, line
    assert found["level"] == "INFO" and found["logger"] == "centralino.switch"
    assert found["pid"] == str(os.getpid())
    assert found["body"] == r'msg="switch-1 ready: \"sip\" 127.0.0.1:5081\nnext"'


def test_a_structured_message_is_kept_as_it_is() -> None:
    line = LogLineFormatter().format(record("event=listening host=%s port=%d", '"::1"', 2700))
    assert body(line) == 'event=listening host="::1" port=2700'


def test_a_traceback_follows_its_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        entry = record("could not refresh", level=logging.ERROR)
        entry.exc_info = sys.exc_info()
    first, *rest = LogLineFormatter().format(entry).splitlines()
    assert LINE.match(first) and first.endswith('msg="could not refresh"')
    assert rest[0].startswith("Traceback") and rest[-1] == "RuntimeError: boom"


def test_quoting_escapes_backslashes_quotes_and_line_breaks() -> None:
    assert quoted('a\\b "c"\r\n') == r'"a\\b \"c\"\r\n"'


def test_a_later_set_up_keeps_the_level_unless_it_names_one(root_logging: None) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    setup_logging()  # what a process entry point does when `centralino --log-level` ran first
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("centralino.test").debug("event=probe n=%d", 1)
    assert body(stream.getvalue().strip()) == "event=probe n=1"
    setup_logging("warning")
    assert logging.getLogger().level == logging.WARNING
    assert logging.getLogger("websockets").level == logging.WARNING


def test_an_unknown_level_is_refused_and_changes_nothing(root_logging: None) -> None:
    setup_logging("INFO", io.StringIO())
    before = logging.getLogger().handlers[:]
    with pytest.raises(ValueError, match="unknown log level 'LOUD': use one of DEBUG, INFO"):
        setup_logging("LOUD")
    assert logging.getLogger().handlers == before and logging.getLogger().level == logging.INFO


#: module -> the function that is its process entry point
ENTRY_POINTS = {
    "telephony/cli.py": "main",
    "telephony/worker.py": "main",
    "console/app.py": "main",
    "dsp/speech/server.py": "main",
}
PACKAGES = ("dsp", "ivr", "telephony", "console", "hardware", "store")


def calls_in(tree: ast.AST) -> set[str]:
    """Dotted names of everything called in *tree* (``logging.basicConfig``, ``setup_logging``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            names.add(ast.unparse(node.func))
    return names


def test_every_process_entry_point_sets_up_the_one_format() -> None:
    for path, function in ENTRY_POINTS.items():
        tree = ast.parse((ROOT / path).read_text())
        imports = {
            (node.module, alias.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert ("loglines", "setup_logging") in imports, path
        entry = next(
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name == function
        )
        assert "setup_logging" in calls_in(entry), f"{path}: {function}() does not set up logging"


def test_no_module_configures_logging_its_own_way() -> None:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            called = calls_in(ast.parse(path.read_text()))
            assert "logging.basicConfig" not in called, path
            assert "setFormatter" not in {name.rsplit(".", 1)[-1] for name in called}, path
