"""Recorded prompts uploaded from the console: checked and stored under a name made from a
digest of their audio, and named in the flow document as ``{text, recording}``.

A stored file never changes (a new upload is a new name), so every flow version keeps the audio
it was saved with and a rollback restores the old recording too. The document keeps the text as
the fallback (and for the transcript); `with_recording` edits only the prompt's line of the
YAML an admin wrote, so their comments and layout survive.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dsp.clock import CLOCK_RATE
from ivr.document import DocumentError, dump_document, load_document
from ivr.prompts import RECORDING_FILE, PromptError, convert_recording, recording_path

#: Hex digits of the audio digest in a recording's file name.
DIGEST_LENGTH = 16


def recording_name(prompt_id: str, locale: str, audio: bytes) -> str:
    """``<prompt>.<locale>.<hex>.wav`` for the converted *audio*."""
    name = f"{prompt_id}.{locale}.{hashlib.sha256(audio).hexdigest()[:DIGEST_LENGTH]}.wav"
    if not RECORDING_FILE.match(name):
        raise PromptError(f"prompt {prompt_id!r} in locale {locale!r} has no usable file name")
    return name


def recording_file(recordings_dir: Path, flow: str, name: str) -> Path:
    """Where the recording *name* of *flow* lives (names are checked, never a path)."""
    if not RECORDING_FILE.match(name):
        raise PromptError(f"{name!r} is not a recording file name")
    return recording_path(recordings_dir, flow, "prompt", "xx").with_name(name)


def store_recording(
    source: Path,
    recordings_dir: Path,
    flow: str,
    prompt_id: str,
    locale: str,
    clock_rate: int = CLOCK_RATE,
) -> str:
    """Check *source* (size, format, length, rate, channels, silence: `ivr.prompts`), convert
    it to mono 16-bit at *clock_rate* and store it; returns its file name. Nothing is stored
    when a check fails."""
    recording_path(recordings_dir, flow, prompt_id, locale)  # refuses unusable names
    return _store(source, prompt_id, locale, clock_rate,
                  lambda name: recording_file(recordings_dir, flow, name))


def _store(source: Path, prompt_id: str, locale: str, clock_rate: int,
           place: Callable[[str], Path]) -> str:
    """Convert *source*, name it by its audio and move it where *place* says, once."""
    with tempfile.TemporaryDirectory() as tmp:
        staged = convert_recording(Path(source), Path(tmp), clock_rate)
        name = recording_name(prompt_id, locale, staged.read_bytes())
        target = place(name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not target.exists():
            _place_whole(staged, target)
    return name


def _place_whole(staged: Path, target: Path) -> None:
    """Copy *staged* beside *target* and rename it there: a copy cut short (a full disk) leaves
    nothing under the recording's name, and its partial file is removed."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(staged, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def prompt_text(said: Any) -> str | None:
    """The text of a prompt's entry in a locale: plain text or the ``text`` of a mapping."""
    if isinstance(said, dict):
        said = said.get("text")
    return said if isinstance(said, str) else None


def with_recording(text: str, prompt_id: str, locale: str, name: str) -> str:
    """The flow document *text* with prompt *prompt_id* in *locale* playing recording *name*.

    The prompt's line is rewritten in place when it holds the whole entry (``en: Hello`` or
    ``en: {text: ..., recording: ...}``); otherwise the document is written out again (its
    comments are lost then). PromptError when the document has no such prompt.
    """
    try:
        document = load_document(text, "flow")
    except DocumentError as error:
        raise PromptError(f"the flow document does not parse: {error}") from None
    data = document.data
    prompts = data.get("prompts") if isinstance(data, dict) else None
    said = prompts.get(prompt_id) if isinstance(prompts, dict) else None
    spoken = prompt_text(said.get(locale)) if isinstance(said, dict) else None
    if spoken is None:
        raise PromptError(f"the flow has no prompt {prompt_id!r} in locale {locale!r}")
    entry = {"text": spoken.strip(), "recording": name}
    assert isinstance(prompts, dict) and isinstance(said, dict)
    said[locale] = entry
    line_number = document.lines.get(("prompts", prompt_id, locale), 0)
    lines = text.splitlines(keepends=True)
    if 0 < line_number <= len(lines):
        line = lines[line_number - 1]
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith(f"{locale}:"):
            inline = (f"{indent}{locale}: {{text: {json.dumps(entry['text'], ensure_ascii=False)}"
                      f", recording: {name}}}\n")
            edited = "".join([*lines[: line_number - 1], inline, *lines[line_number:]])
            try:
                if load_document(edited, "flow").data == data:
                    return edited
            except DocumentError:
                pass
    return dump_document(data)


#: Queue music lives beside the flows' recordings, in a folder no flow can be named after
#: (flow names start with a letter or digit).
QUEUE_MUSIC_FOLDER = "_queues"
MUSIC_PROMPT, MUSIC_LOCALE = "music", "xx"


def queue_music_file(recordings_dir: Path, queue: str, name: str) -> Path:
    """Where the music *name* of *queue* lives (both names checked, never a path)."""
    if not RECORDING_FILE.match(name):
        raise PromptError(f"{name!r} is not a recording file name")
    folder = recording_path(recordings_dir, queue, MUSIC_PROMPT, MUSIC_LOCALE).parent.name
    return Path(recordings_dir) / QUEUE_MUSIC_FOLDER / folder / name


def store_queue_music(source: Path, recordings_dir: Path, queue: str,
                      clock_rate: int = CLOCK_RATE) -> str:
    """Check and convert *source* as a prompt upload is (`store_recording`), and keep it as
    *queue*'s music; returns its file name. Nothing is stored when a check fails."""
    recording_path(recordings_dir, queue, MUSIC_PROMPT, MUSIC_LOCALE)  # refuses odd queue names
    return _store(source, MUSIC_PROMPT, MUSIC_LOCALE, clock_rate,
                  lambda name: queue_music_file(recordings_dir, queue, name))
