"""Flow documents: one flat IVR flow per support number, parsed into typed steps and validated.

A flow is a short list of steps (a greeting question, a mood-fitting acknowledgement, identify,
optional announcements, at most one level of menu, route) with prompts per locale. Validation
collects every problem and names its line and field; a flow that parses is safe to run: every
step is reachable, nothing loops, every prompt exists in every locale, and every path ends at a
person (route) or a hang-up. `ivr.flow_reader` reads the fields and steps, `ivr.flow_graph`
checks the steps as a graph.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ivr.document import Document, DocumentError, Issue, load_document
from ivr.flow_reader import (
    CHECKSUMS,
    DIGITS_RANGE,
    FLOW_FIELDS,
    RETRIES_RANGE,
    TIMEOUT_RANGE,
    FlowReader,
)
from ivr.steps import (
    STEP_KINDS,
    AcknowledgeStep,
    AnnouncementStep,
    HangupStep,
    IdentifyStep,
    MenuOption,
    MenuStep,
    QuestionStep,
    RouteStep,
    Step,
)

__all__ = [
    "CHECKSUMS",
    "DIGITS_RANGE",
    "RETRIES_RANGE",
    "STEP_KINDS",
    "TIMEOUT_RANGE",
    "AcknowledgeStep",
    "AnnouncementStep",
    "Flow",
    "FlowCache",
    "FlowError",
    "HangupStep",
    "IdentifyStep",
    "MenuOption",
    "MenuStep",
    "QuestionStep",
    "RouteStep",
    "Step",
    "check_flow",
    "default_flow",
    "flow_from_dict",
    "load_flow",
    "load_flow_file",
]

DEFAULT_FLOW_PATH = Path(__file__).with_name("default_flow.yaml")


class FlowError(DocumentError):
    """A flow document was refused; ``issues`` names each problem's line and field."""


@dataclass(frozen=True, kw_only=True)
class Flow:
    """A validated flow; build it with `Flow.parse`, `load_flow` or `flow_from_dict`."""

    name: str
    locales: tuple[str, ...]
    prompts: Mapping[str, Mapping[str, str]]
    steps: tuple[Step, ...]
    #: prompt id -> locale -> file name of a recording uploaded for it (played instead of the
    #: text; the text stays the fallback and what the transcript shows).
    recordings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    description: str = ""
    queue: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    operator_key: str | None = "0"
    operator_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inter_digit_timeout: float = 3.0
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    fields: ClassVar[frozenset[str]] = FLOW_FIELDS

    @property
    def first(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def locale_for(self, wanted: str | None) -> str:
        """The caller's locale when the flow has it, else the flow's first locale."""
        return wanted if wanted in self.locales else self.locales[0]

    def recording(self, prompt_id: str, locale: str) -> str | None:
        """The file name of the recording to play for *prompt_id* in *locale*, if any."""
        return self.recordings.get(prompt_id, {}).get(locale)

    def prompt_text(self, prompt_id: str, locale: str, variables: Mapping[str, str]) -> str:
        """The prompt's text in *locale*, placeholders filled from call, then flow, variables."""
        values = {**self.variables, **{k: v for k, v in variables.items() if v}}
        return string.Formatter().vformat(self.prompts[prompt_id][locale], (), _Blank(values))

    @classmethod
    def parse(cls, document: Document) -> Flow:
        """Validate *document* and build the flow, or raise FlowError listing every issue."""
        reader = FlowReader(document)
        parts = reader.read()
        if reader.issues:
            raise FlowError(reader.issues)
        assert parts is not None
        return cls(**parts)


class _Blank(dict[str, str]):
    """Placeholders without a value read as empty rather than failing a live call."""

    def __missing__(self, key: str) -> str:
        return ""


def load_flow(text: str, source: str = "<flow>") -> Flow:
    """Parse and validate YAML or JSON flow text; errors name ``source:line: field``."""
    try:
        document = load_document(text, source)
    except DocumentError as error:
        raise FlowError(error.issues) from None
    return Flow.parse(document)


def load_flow_file(path: str | Path) -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FlowError([Issue(str(path), 0, "document", f"cannot read: {error}")]) from None
    return load_flow(text, str(path))


def flow_from_dict(data: Mapping[str, Any], source: str = "<database>") -> Flow:
    """A flow from its stored document (as kept in the database, without line numbers)."""
    return Flow.parse(Document(dict(data), source))


def check_flow(text: str, source: str = "<flow>") -> list[Issue]:
    """Every problem in a flow text (empty when the flow is valid)."""
    try:
        load_flow(text, source)
    except FlowError as error:
        return list(error.issues)
    return []


@lru_cache(maxsize=1)
def default_flow() -> Flow:
    """The flow every support number gets unless an admin imports another."""
    return load_flow_file(DEFAULT_FLOW_PATH)


class FlowCache:
    """Parsed flows by name and version, so a worker can fetch the latest row on every call
    (an edit takes effect on the next call) and parse a version only once."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._flows: dict[tuple[str, int], Flow] = {}
        self.errors: dict[tuple[str, int], FlowError] = {}

    def flow(self, name: str | None, version: int, document: Mapping[str, Any] | None) -> Flow:
        """The parsed flow, or the default flow when none is stored or the stored one is broken
        (the problem is kept in ``errors``; imports validate, so only a hand edit gets here)."""
        if name is None or document is None:
            return default_flow()
        key = (name, version)
        if key in self._flows:
            return self._flows[key]
        if key in self.errors:
            return default_flow()
        try:
            flow = flow_from_dict(document, f"flow '{name}' version {version}")
        except FlowError as error:
            self.errors[key] = error
            return default_flow()
        if len(self._flows) >= self.size:
            self._flows.pop(next(iter(self._flows)))
        self._flows[key] = flow
        return flow
