"""The ``centralino flows validate|import|export|schema`` commands, over a storage adapter.

ivr never imports the store: the CLI in telephony hands these functions a `FlowStore` backed
by the database (the ``flows`` and ``support_numbers`` tables). A flow that does not validate
is refused with every issue listed and nothing is stored.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from ivr.document import dump_document
from ivr.flow import DEFAULT_FLOW_PATH, FlowError, default_flow, load_flow_file
from ivr.flow_schema import flow_schema


class FlowStore(Protocol):
    """Where flows live (the database in production, a dict in tests)."""

    def get(self, name: str) -> Mapping[str, Any] | None:
        """The latest document of flow *name*, or None."""
        ...

    def put(self, name: str, document: Mapping[str, Any], number: str | None = None) -> int:
        """Store a new version of flow *name*, assign it to support *number* if given.

        Returns the new version; raises LookupError when *number* is not a support number.
        """
        ...


def validate_files(paths: Sequence[str | Path]) -> tuple[bool, list[str]]:
    """Check each file: (all valid, one line per valid file or per issue)."""
    lines: list[str] = []
    valid = True
    for path in paths:
        try:
            flow = load_flow_file(path)
        except FlowError as error:
            valid = False
            lines.extend(str(issue) for issue in error.issues)
            continue
        lines.append(
            f"{path}: ok: flow '{flow.name}', {len(flow.steps)} steps, "
            f"locales {', '.join(flow.locales)}"
        )
    return valid, lines


def import_flow(path: str | Path, store: FlowStore, number: str | None = None) -> str:
    """Validate and store a flow file; raises FlowError (nothing stored) or LookupError."""
    flow = load_flow_file(path)
    version = store.put(flow.name, dict(flow.document), number)
    target = f" for support number {number}" if number else ""
    return f"imported flow '{flow.name}' version {version}{target}"


def export_flow(name: str, store: FlowStore, as_json: bool = False) -> str:
    """The flow's document as YAML (or JSON); the built-in default when none is stored."""
    document = store.get(name)
    if document is None and name == default_flow().name:
        if not as_json:
            return DEFAULT_FLOW_PATH.read_text(encoding="utf-8")
        document = default_flow().document
    if document is None:
        raise LookupError(f"no flow named '{name}'")
    return dump_document(dict(document), as_json=as_json)


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``flows`` with its ``validate``, ``import`` and ``export`` subcommands."""
    flows = commands.add_parser("flows", help="validate, import and export IVR flows")
    actions = flows.add_subparsers(dest="flows_command", required=True)
    validate = actions.add_parser("validate", help="check flow files, store nothing")
    validate.add_argument("files", nargs="+", metavar="FILE")
    imported = actions.add_parser("import", help="validate a flow file and store it")
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--number", help="support number that answers with this flow")
    exported = actions.add_parser("export", help="print a stored flow")
    exported.add_argument("name", metavar="NAME")
    exported.add_argument("--json", action="store_true", help="JSON instead of YAML")
    exported.add_argument("-o", "--output", type=Path, help="write to this file")
    actions.add_parser("schema", help="print the JSON Schema of flow documents (for editors)")
    return flows


def run(
    args: argparse.Namespace, store: FlowStore, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run a parsed ``flows`` command; the exit status (0 ok, 1 refused or not found)."""
    try:
        if args.flows_command == "validate":
            valid, lines = validate_files(args.files)
            print("\n".join(lines), file=out if valid else err)
            return 0 if valid else 1
        if args.flows_command == "import":
            print(import_flow(args.file, store, args.number), file=out)
            return 0
        if args.flows_command == "schema":
            out.write(dump_document(flow_schema(), as_json=True))
            return 0
        text = export_flow(args.name, store, as_json=args.json)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            out.write(text)
        return 0
    except FlowError as error:
        print(str(error), file=err)
        print("nothing was stored", file=err)
        return 1
    except LookupError as error:
        print(error.args[0] if error.args else str(error), file=err)
        return 1
