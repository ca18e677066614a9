"""A JSON Schema of flow documents, for editors that complete and check YAML or JSON as you type.

The schema describes the shape (fields, types, ranges) per step kind; `ivr.flow` remains the
authority and also checks what a schema cannot say well (references, loops, reachability,
locales of every prompt). ``centralino flows schema`` prints it.
"""

from __future__ import annotations

from typing import Any

from ivr.flow import CHECKSUMS, DIGITS_RANGE, RETRIES_RANGE, TIMEOUT_RANGE, Flow
from ivr.prompts import RECORDING_FILE, VOICES
from ivr.steps import MOODS, STEP_KINDS
from ivr.survey import SURVEY_PROMPTS

_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"}
_SECONDS = {"type": "number", "minimum": TIMEOUT_RANGE[0], "maximum": TIMEOUT_RANGE[1]}
_DIGITS = {"type": "integer", "minimum": DIGITS_RANGE[0], "maximum": DIGITS_RANGE[1]}
_KEY = {"type": ["string", "integer"], "pattern": "^[0-9*#]$", "minimum": 0, "maximum": 9}
_TEXTS = {  # a prompt: locale -> text, or text and the recording uploaded for it
    "type": "object",
    "propertyNames": {"enum": sorted(VOICES)},
    "additionalProperties": {
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1},
                    "recording": {"type": "string", "pattern": RECORDING_FILE.pattern},
                },
                "required": ["text"],
                "additionalProperties": False,
            },
        ]
    },
}
_WORDS = {
    "type": "object",
    "propertyNames": {"enum": sorted(VOICES)},
    "additionalProperties": {"type": "array", "items": {"type": "string", "minLength": 1}},
}

#: Prompts the worker plays while a caller waits in line (no step names them), and what each
#: says. A flow document may leave them out: the default flow's texts are used then.
QUEUE_PROMPTS = {
    "queue_position": "the caller's place in line ({position})",
    "queue_callback_offer": "after the place: how to ask for a callback (key 1)",
    "queue_callback_confirmed": "after key 1: the callback is booked, goodbye",
}

#: The schema of each step field; a new field needs an entry (a test checks).
STEP_FIELDS: dict[str, dict[str, Any]] = {
    "id": _NAME,
    "kind": {"enum": list(STEP_KINDS)},
    "next": _NAME,
    "prompt": _NAME,
    "retry_prompt": _NAME,
    "timeout": _SECONDS,
    "max_utterance": _SECONDS,
    "retries": {"type": "integer", "minimum": RETRIES_RANGE[0], "maximum": RETRIES_RANGE[1]},
    "min_digits": _DIGITS,
    "max_digits": _DIGITS,
    "checksum": {"enum": list(CHECKSUMS)},
    "enabled": {"type": "boolean"},
    "queue": {"type": "string", "minLength": 1},
    "skills": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "prompts": {
        "type": "object",
        "properties": {mood: _NAME for mood in MOODS},
        "required": list(MOODS),
        "additionalProperties": False,
    },
    "options": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "properties": {"key": _KEY, "next": _NAME, "words": _WORDS},
            "required": ["key", "next"],
            "additionalProperties": False,
        },
    },
}


def _step_schema(kind: str) -> dict[str, Any]:
    step = STEP_KINDS[kind]
    names = {"id", "kind", *step.fields}
    if not step.terminal and kind != "menu":
        names.add("next")
    required = ["id", "kind"] + [n for n in ("prompt", "options", "prompts") if n in step.fields]
    if step.terminal:
        required = [n for n in required if n != "prompt"]
    properties = {name: STEP_FIELDS[name] for name in sorted(names)}
    properties["kind"] = {"const": kind}
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def flow_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a flow document."""
    properties: dict[str, Any] = {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
        "description": {"type": "string"},
        "locales": {
            "type": "array",
            "items": {"enum": sorted(VOICES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "queue": {"type": "string", "minLength": 1},
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        "operator": {
            "type": "object",
            "properties": {"key": {"oneOf": [_KEY, {"type": "null"}]}, "words": _WORDS},
            "additionalProperties": False,
        },
        "inter_digit_timeout": _SECONDS,
        "prompts": {
            "type": "object",
            "propertyNames": _NAME,
            "properties": {
                name: {**_TEXTS, "description": what}
                for name, what in {**QUEUE_PROMPTS, **SURVEY_PROMPTS}.items()
            },
            "additionalProperties": _TEXTS,
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [_step_schema(kind) for kind in STEP_KINDS]},
        },
    }
    assert set(properties) == Flow.fields, "flow_schema is out of date with Flow.fields"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://centralino.invalid/schemas/flow.json",
        "title": "Centralino IVR flow",
        "type": "object",
        "properties": properties,
        "required": ["name", "locales", "prompts", "steps"],
        "additionalProperties": False,
    }
