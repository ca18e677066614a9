"""Reading a flow document's fields and steps into the parts of a `Flow`, collecting every
problem (with its line and field) instead of stopping at the first."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, TypedDict

from ivr.document import Document, FieldPath, Issue
from ivr.flow_graph import check_graph
from ivr.prompts import RECORDING_FILE, VOICES
from ivr.steps import (
    MOODS,
    STEP_KINDS,
    AcknowledgeStep,
    HangupStep,
    MenuOption,
    MenuStep,
    RouteStep,
    Step,
)

TIMEOUT_RANGE = (1.0, 60.0)
RETRIES_RANGE = (0, 3)
DIGITS_RANGE = (1, 32)
CHECKSUMS = ("none", "luhn")
DTMF_KEYS = frozenset("0123456789*#")
#: Placeholders every call can fill (from the support number); flows may add their own.
CALL_VARIABLES = frozenset({"company"})
#: Placeholders that only one prompt may use: the caller's place in line (the queue prompts
#: are `ivr.flow_schema.QUEUE_PROMPTS`).
PROMPT_VARIABLES = {"queue_position": frozenset({"position"})}
#: The fields a flow document may have at its top level.
FLOW_FIELDS = frozenset(
    {
        "name",
        "description",
        "locales",
        "queue",
        "variables",
        "operator",
        "inter_digit_timeout",
        "prompts",
        "steps",
    }
)

_NO_NEXT = {
    "route": "it ends the flow at a person",
    "hangup": "it ends the call",
    "menu": "each option names its own next step",
}
_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FLOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class FlowParts(TypedDict):
    """What a valid document says, as the keyword arguments of `ivr.flow.Flow`."""

    name: str
    description: str
    locales: tuple[str, ...]
    prompts: Mapping[str, Mapping[str, str]]
    recordings: Mapping[str, Mapping[str, str]]
    steps: tuple[Step, ...]
    queue: str | None
    variables: Mapping[str, str]
    operator_key: str | None
    operator_words: Mapping[str, tuple[str, ...]]
    inter_digit_timeout: float
    document: Mapping[str, Any]


class FlowReader:
    """Reads a document into flow parts; ``issues`` holds every problem found."""

    def __init__(self, document: Document) -> None:
        self.doc = document
        self.issues: list[Issue] = []
        self.locales: tuple[str, ...] = ()
        self.step_paths: dict[str, FieldPath] = {}  # step id -> where it stands

    def fail(self, path: FieldPath, message: str) -> None:
        self.issues.append(self.doc.issue(path, message))

    # typed field access

    def mapping(self, value: Any, path: FieldPath, what: str) -> dict[Any, Any] | None:
        if isinstance(value, dict):
            return value
        self.fail(path, f"must be a mapping of {what}, got {_show(value)}")
        return None

    def known_fields(
        self, raw: Mapping[Any, Any], path: FieldPath, allowed: frozenset[str]
    ) -> None:
        for key in raw:
            if key not in allowed:
                self.fail((*path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def text(
        self, raw: Mapping[Any, Any], path: FieldPath, key: str, required: bool = False
    ) -> str | None:
        if key not in raw:
            if required:
                self.fail(path, f"missing field '{key}'")
            return None
        value = raw[key]
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.fail((*path, key), f"must be a non-empty string, got {_show(value)}")
        return None

    def seconds(self, raw: Mapping[Any, Any], path: FieldPath, key: str) -> float | None:
        if key not in raw:
            return None
        value, (low, high) = raw[key], TIMEOUT_RANGE
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return float(value)
        self.fail((*path, key), f"must be seconds from {low:g} to {high:g}, got {_show(value)}")
        return None

    def whole(
        self, raw: Mapping[Any, Any], path: FieldPath, key: str, bounds: tuple[int, int]
    ) -> int | None:
        if key not in raw:
            return None
        value, (low, high) = raw[key], bounds
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.fail((*path, key), f"must be a whole number from {low} to {high}, got {_show(value)}")
        return None

    def words(self, value: Any, path: FieldPath) -> dict[str, tuple[str, ...]]:
        raw = self.mapping(value, path, "locale -> list of words")
        result: dict[str, tuple[str, ...]] = {}
        for locale, words in (raw or {}).items():
            if locale not in self.locales:
                self.fail((*path, locale), f"locale '{locale}' is not in locales")
            elif not isinstance(words, list) or not all(
                isinstance(w, str) and w.strip() for w in words
            ):
                self.fail((*path, locale), f"must be a list of words, got {_show(words)}")
            else:
                result[locale] = tuple(w.strip().lower() for w in words)
        return result

    # the document

    def read(self) -> FlowParts | None:
        """The flow's parts, or None when any issue was found."""
        raw = self.mapping(self.doc.data, (), "flow fields (name, locales, prompts, steps)")
        if raw is None:
            return None
        self.known_fields(raw, (), FLOW_FIELDS)
        name = self.text(raw, (), "name", required=True)
        if name and not _FLOW_NAME.match(name):
            self.fail(("name",), f"'{name}' is not a flow name (letters, digits, '.', '_', '-')")
        self.locales = self.read_locales(raw)
        variables = self.read_variables(raw.get("variables", {}))
        self.recordings: dict[str, dict[str, str]] = {}
        prompts = self.read_prompts(raw, set(variables) | CALL_VARIABLES)
        operator_key, operator_words = self.read_operator(raw.get("operator", {}))
        steps = self.read_steps(raw)
        inter_digit = self.seconds(raw, (), "inter_digit_timeout")
        if steps:
            check_graph(self, steps, prompts, operator_key)
        if self.issues or not name:
            return None
        return FlowParts(
            name=name,
            description=self.text(raw, (), "description") or "",
            locales=self.locales,
            prompts=prompts,
            recordings={p: r for p, r in self.recordings.items() if r},
            steps=tuple(steps),
            queue=self.text(raw, (), "queue"),
            variables=variables,
            operator_key=operator_key,
            operator_words=operator_words,
            inter_digit_timeout=inter_digit or 3.0,
            document=dict(raw),
        )

    def read_locales(self, raw: Mapping[Any, Any]) -> tuple[str, ...]:
        value = raw.get("locales")
        if "locales" not in raw:
            self.fail((), "missing field 'locales'")
            return ()
        if not isinstance(value, list) or not value:
            self.fail(("locales",), f"must be a non-empty list of locales, got {_show(value)}")
            return ()
        locales: list[str] = []
        for index, locale in enumerate(value):
            if locale not in VOICES:
                supported = ", ".join(sorted(VOICES))
                self.fail(("locales", index), f"unsupported locale {_show(locale)} ({supported})")
            elif locale in locales:
                self.fail(("locales", index), f"locale '{locale}' listed twice")
            else:
                locales.append(locale)
        return tuple(locales)

    def read_variables(self, value: Any) -> dict[str, str]:
        raw = self.mapping(value, ("variables",), "name -> text")
        result: dict[str, str] = {}
        for key, text in (raw or {}).items():
            if not isinstance(key, str) or not key.isidentifier():
                self.fail(("variables", key), "variable names are identifiers")
            elif not isinstance(text, str):
                self.fail(("variables", key), f"must be text, got {_show(text)}")
            else:
                result[key] = text
        return result

    def read_prompts(
        self, raw: Mapping[Any, Any], placeholders: set[str]
    ) -> dict[str, dict[str, str]]:
        prompts: dict[str, dict[str, str]] = {}
        if "prompts" not in raw:
            self.fail((), "missing field 'prompts'")
            return prompts
        table = self.mapping(raw["prompts"], ("prompts",), "prompt id -> locale -> text")
        for prompt_id, texts in (table or {}).items():
            path: FieldPath = ("prompts", prompt_id)
            if not isinstance(prompt_id, str) or not _STEP_ID.match(prompt_id):
                self.fail(path, f"{_show(prompt_id)} is not a prompt id (a-z, 0-9, _)")
                continue
            per_locale = self.mapping(texts, path, "locale -> text")
            if per_locale is None:
                continue
            prompts[str(prompt_id)] = {}
            for locale in self.locales:
                if locale not in per_locale:
                    self.fail(path, f"missing locale '{locale}'")
            for locale, said in per_locale.items():
                text = self.read_recorded(said, str(prompt_id), locale, (*path, locale))
                if locale not in self.locales:
                    self.fail((*path, locale), f"locale '{locale}' is not in locales")
                elif not isinstance(text, str) or not text.strip():
                    self.fail((*path, locale), f"must be non-empty text, got {_show(text)}")
                elif self.check_placeholders(
                    text, (*path, locale), placeholders | PROMPT_VARIABLES.get(prompt_id, set())
                ):
                    prompts[str(prompt_id)][locale] = text.strip()
        return prompts

    def read_recorded(self, said: Any, prompt_id: str, locale: Any, path: FieldPath) -> Any:
        """A prompt's text in a locale: plain text, or ``{text, recording}`` where *recording*
        names a file uploaded for this prompt and locale (the text stays the fallback and what
        the transcript shows). Returns the text (anything else is reported by the caller)."""
        if not isinstance(said, Mapping):
            return said
        self.known_fields(said, path, frozenset({"text", "recording"}))
        recording = said.get("recording")
        if recording is not None:
            expected = f"{prompt_id}.{locale}."
            if not isinstance(recording, str) or not RECORDING_FILE.match(recording):
                self.fail((*path, "recording"),
                          f"{_show(recording)} is not a recording file name "
                          f"({prompt_id}.{locale}.<hex>.wav)")
            elif not recording.startswith(expected):
                self.fail((*path, "recording"),
                          f"'{recording}' was uploaded for another prompt or locale "
                          f"(expected {expected}<hex>.wav)")
            else:
                self.recordings.setdefault(prompt_id, {})[str(locale)] = recording
        return said.get("text")

    def check_placeholders(self, text: str, path: FieldPath, known: set[str]) -> bool:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as error:
            self.fail(path, f"malformed placeholder: {error}")
            return False
        for name in names:
            if name not in known:
                names_known = ", ".join(sorted(known))
                self.fail(path, f"unknown placeholder {{{name}}} (known: {names_known})")
                return False
        return True

    def read_operator(self, value: Any) -> tuple[str | None, dict[str, tuple[str, ...]]]:
        raw = self.mapping(value, ("operator",), "key and words")
        if raw is None:
            return "0", {}
        self.known_fields(raw, ("operator",), frozenset({"key", "words"}))
        key = raw.get("key", "0")
        if key is not None and (not isinstance(key, str | int) or str(key) not in DTMF_KEYS):
            self.fail(("operator", "key"), f"must be one DTMF key (0-9, *, #), got {_show(key)}")
        words = self.words(raw["words"], ("operator", "words")) if "words" in raw else {}
        return (None if key is None else str(key)), words

    def read_steps(self, raw: Mapping[Any, Any]) -> list[Step]:
        if "steps" not in raw:
            self.fail((), "missing field 'steps'")
            return []
        value = raw["steps"]
        if not isinstance(value, list) or not value:
            self.fail(("steps",), f"must be a non-empty list of steps, got {_show(value)}")
            return []
        self.step_paths = {}
        parsed: list[tuple[FieldPath, dict[str, Any], type[Step]]] = []
        for index, item in enumerate(value):
            path: FieldPath = ("steps", index)
            step = self.mapping(item, path, "step fields (id, kind, ...)")
            if step is None:
                continue
            step_id = self.text(step, path, "id", required=True)
            kind_name = self.text(step, path, "kind", required=True)
            if step_id and not _STEP_ID.match(step_id):
                self.fail((*path, "id"), f"'{step_id}' is not a step id (a-z, 0-9, _)")
            elif step_id in self.step_paths:
                self.fail((*path, "id"), f"duplicate step id '{step_id}'")
            elif step_id:
                self.step_paths[step_id] = path
            kind = STEP_KINDS.get(kind_name or "")
            if kind_name and kind is None:
                known = ", ".join(STEP_KINDS)
                self.fail((*path, "kind"), f"unknown step kind '{kind_name}' (known: {known})")
            if step_id and kind:
                parsed.append((path, step, kind))
        steps: list[Step] = []
        for position, (path, step, kind) in enumerate(parsed):
            following = parsed[position + 1][1].get("id") if position + 1 < len(parsed) else None
            steps.append(self.read_step(path, step, kind, following))
        return steps

    def read_step(
        self, path: FieldPath, raw: dict[str, Any], kind: type[Step], following: str | None
    ) -> Step:
        allowed = kind.fields | {"id", "kind"} | (set() if kind.terminal else {"next"})
        if kind is MenuStep:
            allowed = allowed - {"next"}
        if "next" in raw and "next" not in allowed:
            self.fail((*path, "next"), f"a {kind.kind} step has no next: {_NO_NEXT[kind.kind]}")
        self.known_fields({k: v for k, v in raw.items() if k != "next"}, path, frozenset(allowed))
        values: dict[str, Any] = {"id": raw["id"]}
        if not kind.terminal and kind is not MenuStep:
            values["next"] = self.text(raw, path, "next") or following
            if values["next"] is None:
                self.fail(path, "the flow ends here without reaching a person: add a route step")
        for name in ("prompt", "retry_prompt", "queue"):
            if name in kind.fields:
                required = name == "prompt" and kind not in (RouteStep, HangupStep)
                values[name] = self.text(raw, path, name, required=required)
        for name in ("timeout", "max_utterance"):
            if name in kind.fields:
                values[name] = self.seconds(raw, path, name)
        if "retries" in kind.fields:
            values["retries"] = self.whole(raw, path, "retries", RETRIES_RANGE)
        for name in ("min_digits", "max_digits"):
            if name in kind.fields:
                values[name] = self.whole(raw, path, name, DIGITS_RANGE)
        if "checksum" in kind.fields and "checksum" in raw:
            if raw["checksum"] in CHECKSUMS:
                values["checksum"] = raw["checksum"]
            else:
                self.fail((*path, "checksum"), f"must be one of {', '.join(CHECKSUMS)}")
        if "enabled" in kind.fields and "enabled" in raw:
            if isinstance(raw["enabled"], bool):
                values["enabled"] = raw["enabled"]
            else:
                self.fail((*path, "enabled"), f"must be true or false, got {_show(raw['enabled'])}")
        if "skills" in kind.fields and "skills" in raw:
            skills = raw["skills"]
            if isinstance(skills, list) and all(isinstance(s, str) and s for s in skills):
                values["skills"] = tuple(skills)
            else:
                self.fail((*path, "skills"), f"must be a list of skill names, got {_show(skills)}")
        if kind is AcknowledgeStep:
            values["prompts"] = self.read_mood_prompts(raw, path)
        if kind is MenuStep:
            values["options"] = self.read_options(raw, path)
        low, high = values.get("min_digits"), values.get("max_digits")
        if low is not None and high is not None and low > high:
            self.fail((*path, "min_digits"), f"min_digits {low} is above max_digits {high}")
        if "prompt" in kind.fields and values["prompt"] is None and kind.terminal is False:
            values["prompt"] = ""  # reported above; keep the step so later checks still run
        return kind(**{key: value for key, value in values.items() if value is not None})

    def read_mood_prompts(self, raw: Mapping[str, Any], path: FieldPath) -> dict[str, str]:
        if "prompts" not in raw:
            self.fail(path, "missing field 'prompts' (a prompt per mood: calm, neutral, upset)")
            return {}
        table = self.mapping(raw["prompts"], (*path, "prompts"), "mood -> prompt id")
        result: dict[str, str] = {}
        for mood, prompt_id in (table or {}).items():
            if mood not in MOODS:
                self.fail((*path, "prompts", mood), f"unknown mood (moods: {', '.join(MOODS)})")
            elif not isinstance(prompt_id, str):
                self.fail((*path, "prompts", mood), f"must be a prompt id, got {_show(prompt_id)}")
            else:
                result[mood] = prompt_id
        for mood in MOODS:
            if table is not None and mood not in table:
                self.fail((*path, "prompts"), f"missing mood '{mood}'")
        return result

    def read_options(self, raw: Mapping[str, Any], path: FieldPath) -> tuple[MenuOption, ...]:
        value = raw.get("options")
        if not isinstance(value, list) or not value:
            self.fail(
                (*path, "options"), f"must be a non-empty list of options, got {_show(value)}"
            )
            return ()
        options: list[MenuOption] = []
        keys: set[str] = set()
        for index, item in enumerate(value):
            option_path: FieldPath = (*path, "options", index)
            option = self.mapping(item, option_path, "key, next and words")
            if option is None:
                continue
            self.known_fields(option, option_path, frozenset({"key", "next", "words"}))
            key = str(option.get("key", ""))
            target = self.text(option, option_path, "next", required=True)
            if key not in DTMF_KEYS:
                self.fail((*option_path, "key"), f"must be one DTMF key, got {_show(key)}")
            elif key in keys:
                self.fail((*option_path, "key"), f"key '{key}' is used twice")
            keys.add(key)
            words = {}
            if "words" in option:
                words = self.words(option["words"], (*option_path, "words"))
            if target:
                options.append(MenuOption(key=key, next=target, words=words))
        return tuple(options)


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value)
