"""Readers of each vendor's file format, strict enough to reject what the phone would reject;
the same reader checks the vendor's documented example and our generated file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

DOCS = Path(__file__).parent / "data" / "vendor_docs"


def documented_example(vendor: str) -> str:
    """The excerpt below the ``---`` line of ``data/vendor_docs/<vendor>.txt``."""
    text = (DOCS / f"{vendor}.txt").read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1]


_YEALINK_KEY = re.compile(r"(?P<key>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*) = (?P<value>[^\r\n]*)")
_YEALINK_INCLUDE = re.compile(r'include:config "[^"]+"')


def parse_yealink(text: str) -> dict[str, str]:
    lines = text.split("\n")
    if lines[0] != "#!version:1.0.0.1":
        raise ValueError(f"first line must be the header, got {lines[0]!r}")
    values: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line or line.startswith("#") or _YEALINK_INCLUDE.fullmatch(line):
            continue
        found = _YEALINK_KEY.fullmatch(line)
        if not found:
            raise ValueError(f"line {number} is not 'key = value': {line!r}")
        values[found["key"]] = found["value"]
    return values


def parse_xml(text: str) -> ET.Element:
    if not text.startswith("<?xml"):
        raise ValueError("an XML file starts with its declaration")
    return ET.fromstring(text.encode("utf-8"))


_FANVIL_LINE = re.compile(r"(?P<name>[^:<>]*\S)\s*:(?P<value>[^\r\n]*)")


def parse_fanvil(text: str) -> dict[str, dict[str, str]]:
    lines = text.replace("\r\n", "\n").split("\n")
    if not re.fullmatch(r"<<VOIP CONFIG FILE>>Version:\d+\.\d+", lines[0]):
        raise ValueError(f"first line must be the Fanvil header, got {lines[0]!r}")
    modules: dict[str, dict[str, str]] = {}
    module: dict[str, str] | None = None
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        heading = re.fullmatch(r"<([A-Z ]+ MODULE)>", line)
        if heading:
            module = modules.setdefault(heading[1], {})
            continue
        found = _FANVIL_LINE.fullmatch(line)
        if module is None or not found:
            raise ValueError(f"line {number} is not 'Name :value' inside a module: {line!r}")
        module[found["name"]] = found["value"]
    return modules
