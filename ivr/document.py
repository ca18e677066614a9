"""Documents read from YAML or JSON text that remember the source line of every field.

Validators report problems as ``source:line: field: message`` (the field written as
``steps[2].prompt``), so an admin can jump straight to the mistake.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

#: Where a value sits inside a document: mapping keys and sequence indexes, outermost first.
FieldPath = tuple[str | int, ...]


def field_name(path: FieldPath) -> str:
    """``("steps", 2, "prompt")`` -> ``steps[2].prompt``; the empty path is ``document``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "document"


@dataclass(frozen=True)
class Issue:
    """One problem in a document, located by source, line (0 when unknown) and field."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}"


class DocumentError(ValueError):
    """A document was refused; ``issues`` lists every problem found, in document order."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = sorted(issues, key=lambda issue: issue.line)
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass
class Document:
    """Parsed data plus the line of each field path (absent for documents read from a database)."""

    data: Any
    source: str = "<document>"
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int:
        """Line of *path*, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line:
                return line
        return 0

    def issue(self, path: FieldPath, message: str) -> Issue:
        return Issue(self.source, self.line_of(path), field_name(path), message)


def load_document(text: str, source: str = "<document>") -> Document:
    """Parse YAML (or JSON, which YAML reads too) with line numbers; DocumentError if malformed."""
    try:
        data, lines = _load_yaml(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        if text.lstrip().startswith(("{", "[")):
            return _load_json(text, source)
        problem = error.problem or error.context or "malformed YAML"
        raise DocumentError([Issue(source, line, "document", f"YAML syntax: {problem}")]) from None
    except _DuplicateKey as duplicate:
        raise DocumentError(
            [Issue(source, duplicate.line, field_name(duplicate.path), "duplicate key")]
        ) from None
    return Document(data, source, lines)


def _load_json(text: str, source: str) -> Document:
    try:
        return Document(json.loads(text), source)
    except json.JSONDecodeError as error:
        raise DocumentError(
            [Issue(source, error.lineno, "document", f"JSON syntax: {error.msg}")]
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, path: FieldPath, line: int) -> None:
        self.path, self.line = path, line


def _load_yaml(text: str) -> tuple[Any, dict[FieldPath, int]]:
    loader = yaml.SafeLoader(text)
    lines: dict[FieldPath, int] = {}

    def build(node: yaml.Node, path: FieldPath, line: int = 0) -> Any:
        lines[path] = line or node.start_mark.line + 1  # a field's line is its key's line
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if key in mapping:
                    raise _DuplicateKey((*path, key), key_node.start_mark.line + 1)
                mapping[key] = build(value_node, (*path, key), key_node.start_mark.line + 1)
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    try:
        root = loader.get_single_node()
        return (None if root is None else build(root, ())), lines
    finally:
        loader.dispose()


def dump_document(data: Any, as_json: bool = False) -> str:
    """Text for *data*: block-style YAML keeping key order and Unicode, or indented JSON."""
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
