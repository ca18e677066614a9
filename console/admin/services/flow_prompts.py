"""What an admin does with a flow's prompts before callers hear them: rehearse the flow with
typed turns (`ivr.rehearsal`), preview a prompt as the caller would hear it (rendered by
espeak-ng and sox into ``var/prompt-preview``), and upload a recording for a prompt in a locale
(`ivr.recordings`: checked, converted to 8 kHz mono, stored in ``var/recordings/<flow>/``),
which is saved as a new version of the flow naming it, so the next call plays it.

Caller-facing text never reaches a shell: the tools get argument lists, and prompt ids, locales
and file names are checked against fixed patterns first.
"""

from __future__ import annotations

import contextlib
import os
import re
import string
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit, flows
from console.admin.services.base import Actor, Invalid, NotFound
from ivr.accounts import AccountMatch
from ivr.document import DocumentError, load_document
from ivr.flow import FlowError, load_flow
from ivr.flow_schema import QUEUE_PROMPTS
from ivr.prompts import (
    MAX_RECORDING_BYTES,
    RECORDING_FILE,
    VOICES,
    PromptError,
    inspect_recording,
    render_prompt,
)
from ivr.recordings import prompt_text, recording_file, store_recording, with_recording
from ivr.rehearsal import MAX_TURN_LENGTH, MAX_TURNS, TurnError, parse_turns, rehearse
from ivr.survey import SURVEY_PROMPTS
from store.models import Account
from store.models import Flow as FlowRow
from store.private_files import FILE_MODE

#: Folders under ``var/``: rendered previews (a cache) and uploaded recordings.
PREVIEW_DIR = "prompt-preview"
#: Prompts the worker speaks from their text, never from a recording.
SPOKEN_ONLY = frozenset({*QUEUE_PROMPTS, *SURVEY_PROMPTS})
RECORDINGS_DIR = "recordings"
#: The longest prompt text a preview renders.
MAX_PREVIEW_TEXT = 1000
_PROMPT_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")
_PREVIEW_FILE = re.compile(r"[a-z]{2}-[0-9a-f]{16}-8000\.wav")


def _flow_of(text: str) -> Any:
    issues = flows.check(text)
    if issues:
        raise flows.FlowInvalid(issues)
    return load_flow(text, "flow")


def _locale(value: Any, allowed: tuple[str, ...] | None = None) -> str:
    locale = str(value or "")
    known = allowed or tuple(sorted(VOICES))
    if locale not in known:
        raise Invalid({"locale": f"one of {', '.join(known)}"})
    return locale


# --- rehearsal -------------------------------------------------------------------------------


def _account_lookup(session: Session) -> Any:
    def lookup(digits: str) -> AccountMatch | None:
        account = session.scalar(select(Account).where(Account.number == digits))
        if account is None:
            return None
        customer = account.customer
        return AccountMatch(account_id=account.id, customer_id=customer.id,
                            number=account.number, customer_name=customer.name,
                            preferred_agent_id=customer.preferred_agent_id)

    return lookup


def rehearsal(session: Session, text: str, turns: str, locale: str | None) -> dict[str, Any]:
    """Walk the flow *text* (as typed, unsaved) with the caller's *turns*, one per line:
    every prompt said (its text), every step, and the routing with its call data. Accounts
    are looked up in the deployment's customers, as a real call would."""
    flow = _flow_of(text)
    if len(turns) > MAX_TURNS * (MAX_TURN_LENGTH + 1):
        raise Invalid({"turns": f"at most {MAX_TURNS} lines"})
    try:
        parsed = parse_turns(turns)
    except TurnError as error:
        raise Invalid({"turns": str(error)}) from None
    chosen = _locale(locale or flow.locales[0], flow.locales)
    done = rehearse(flow, parsed, chosen, lookup=_account_lookup(session))
    return {"flow": flow.name, "locale": chosen, **done.as_json()}


# --- preview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """A rendered prompt: the WAV's name under ``var/prompt-preview`` and the text it says."""

    name: str
    text: str
    path: Path


def _prompt_in(text: str, prompt_id: str, locale: str) -> tuple[str, Mapping[str, Any]]:
    """The prompt's text in the document as typed (it need not validate yet), and its
    variables."""
    try:
        data = load_document(text, "flow").data
    except DocumentError as error:
        raise Invalid({"text": f"the flow does not parse: {error}"}) from None
    data = data if isinstance(data, dict) else {}
    prompts = data.get("prompts")
    said = prompts.get(prompt_id) if isinstance(prompts, dict) else None
    spoken = prompt_text(said.get(locale)) if isinstance(said, dict) else None
    if not spoken or not spoken.strip():
        raise Invalid({"prompt": f"the flow has no text for prompt {prompt_id!r} in {locale!r}"})
    variables = data.get("variables")
    return spoken.strip(), variables if isinstance(variables, dict) else {}


class _Blank(dict[str, str]):
    """Placeholders a call fills: an example place in line, and nothing for the rest."""

    def __missing__(self, key: str) -> str:
        return "3" if key == "position" else ""


def preview(var_dir: str | Path, text: str, prompt_id: str, locale: str,
            company: str = "") -> Preview:
    """Render prompt *prompt_id* in *locale* of the flow document *text* (placeholders filled
    from its variables and *company*) as the caller would hear it, cached by its words."""
    if not _PROMPT_ID.fullmatch(prompt_id or ""):
        raise Invalid({"prompt": "a prompt id (a-z, 0-9, _)"})
    locale = _locale(locale)
    spoken, variables = _prompt_in(text, prompt_id, locale)
    values = {str(k): str(v) for k, v in variables.items()}
    if company:
        values["company"] = company
    try:
        words = string.Formatter().vformat(spoken, (), _Blank(values))
    except (ValueError, IndexError, KeyError):
        words = spoken
    words = " ".join(words.split())
    if not words or len(words) > MAX_PREVIEW_TEXT:
        raise Invalid({"prompt": f"1 to {MAX_PREVIEW_TEXT} characters of text to say"})
    try:
        path = render_prompt(words, locale, Path(var_dir) / PREVIEW_DIR, 8000)
    except PromptError as error:
        raise Invalid({"prompt": str(error)}) from None
    with contextlib.suppress(OSError):
        path.chmod(FILE_MODE)
    return Preview(path.name, words, path)


def preview_file(var_dir: str | Path, name: str) -> Path:
    """A rendered preview by its name (checked), for the page's audio element."""
    if not _PREVIEW_FILE.fullmatch(name):
        raise NotFound("no such preview")
    path = Path(var_dir) / PREVIEW_DIR / name
    if not path.is_file():
        raise NotFound("no such preview (render it again)")
    return path


# --- recordings ------------------------------------------------------------------------------


def recording_path(session: Session, var_dir: str | Path, flow_id: int, name: str) -> Path:
    """A recording uploaded for flow *flow_id*, by its file name (checked)."""
    flow = flows.get(session, flow_id)
    if not RECORDING_FILE.fullmatch(name):
        raise NotFound("no such recording")
    path = recording_file(Path(var_dir) / RECORDINGS_DIR, flow.name, name)
    if not path.is_file():
        raise NotFound("no such recording")
    return path


def spool_upload(stream: IO[bytes], into: Path, shown: str) -> int:
    """Copy an upload to *into*, refusing it once it passes the size limit."""
    size = 0
    with open(into, "wb") as out:
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > MAX_RECORDING_BYTES:
                limit = MAX_RECORDING_BYTES // (1024 * 1024)
                raise Invalid({"file": f"{shown}: larger than {limit} MB; nothing was stored"})
            out.write(chunk)
    return size


def upload(session: Session, actor: Actor, var_dir: str | Path, flow_id: int, prompt_id: str,
           locale: str, stream: IO[bytes] | None, filename: str = "") -> dict[str, Any]:
    """Store an uploaded recording for *prompt_id* in *locale* of flow *flow_id* and save the
    flow as a new version that plays it (the next call hears it). Any refusal (no such
    prompt, too large, not audio, too short or long) changes nothing."""
    flow: FlowRow = flows.get(session, flow_id)
    text = flows.text_of(session, flow)
    try:
        parsed = load_flow(text, "flow")
    except FlowError as error:
        raise Invalid({"prompt": f"the stored flow does not validate: {error}"}) from None
    if not _PROMPT_ID.fullmatch(prompt_id or "") or prompt_id not in parsed.prompts:
        raise Invalid({"prompt": f"flow {flow.name} has no prompt {prompt_id!r}"})
    if prompt_id in SPOKEN_ONLY:
        raise Invalid({"prompt": f"{prompt_id} is always spoken from its text (the queue's and "
                                 "the survey's words are said by the worker, some with the "
                                 "caller's place in line); edit its text instead"})
    locale = _locale(locale, parsed.locales)
    if stream is None:
        raise Invalid({"file": "choose an audio file"})
    shown = Path(filename or "upload").name[:100] or "upload"
    recordings = Path(var_dir) / RECORDINGS_DIR
    with tempfile.TemporaryDirectory() as tmp:
        suffix = Path(shown).suffix.lower()
        source = Path(tmp) / ("upload" + (suffix if _SUFFIX.fullmatch(suffix) else ""))
        size = spool_upload(stream, source, shown)
        if size == 0:
            raise Invalid({"file": f"{shown}: the file is empty; nothing was stored"})
        try:
            seconds = inspect_recording(source).seconds
            existed = {p.name for p in (recordings / flow.name).glob("*.wav")}
            name = store_recording(source, recordings, flow.name, prompt_id, locale)
        except PromptError as error:
            reason = str(error).split(": ", 1)[-1]
            raise Invalid({"file": f"{shown}: {reason}; nothing was stored"}) from None
    stored = recording_file(recordings, flow.name, name)
    os.chmod(stored, FILE_MODE)
    before = parsed.recording(prompt_id, locale)
    try:
        saved = flows.save(session, actor, with_recording(text, prompt_id, locale, name),
                           f"recording for {prompt_id} ({locale})", flow.name)
    except Exception:
        if name not in existed:
            stored.unlink(missing_ok=True)
        raise
    audit.record(session, actor, "flow.recording", "flow", saved.id, saved.name,
                 {"prompt": prompt_id, "locale": locale, "recording": before},
                 {"prompt": prompt_id, "locale": locale, "recording": name,
                  "upload": shown, "bytes": size, "seconds": round(seconds, 2),
                  "version": saved.version})
    return {"flow_id": saved.id, "flow": saved.name, "version": saved.version,
            "prompt": prompt_id, "locale": locale, "recording": name,
            "seconds": round(seconds, 2)}


@dataclass(frozen=True)
class PromptRow:
    """One prompt of a document as the editor lists it: per locale its text and recording."""

    prompt_id: str
    texts: dict[str, str]
    recordings: dict[str, str]


@dataclass(frozen=True)
class PromptTable:
    locales: tuple[str, ...]
    rows: tuple[PromptRow, ...]


def prompt_table(text: str) -> PromptTable:
    """The prompts of a flow document as typed (empty when it does not parse)."""
    try:
        data = load_document(text, "flow").data
    except DocumentError:
        return PromptTable((), ())
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        return PromptTable((), ())
    raw_locales = data.get("locales")
    locales = tuple(str(x) for x in raw_locales if x in VOICES) if isinstance(
        raw_locales, list) else ()
    rows = []
    for prompt_id, said in data["prompts"].items():
        if not isinstance(prompt_id, str) or not isinstance(said, dict):
            continue
        texts, recorded = {}, {}
        for locale, entry in said.items():
            spoken = prompt_text(entry)
            if spoken is not None:
                texts[str(locale)] = spoken
            if isinstance(entry, dict) and isinstance(entry.get("recording"), str):
                recorded[str(locale)] = entry["recording"]
        rows.append(PromptRow(prompt_id, texts, recorded))
    return PromptTable(locales, tuple(rows))
