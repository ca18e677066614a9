"""Recorded prompts named in a flow document: stored by digest (real sox), named as
``{text, recording}`` by editing only the prompt's line, validated, played instead of the text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ivr.flow import DEFAULT_FLOW_PATH, FlowError, load_flow
from ivr.prompts import PromptError, inspect_recording, prompt_audio, read_wav, render_prompt
from ivr.recordings import recording_file, store_recording, with_recording

DEFAULT_TEXT = DEFAULT_FLOW_PATH.read_text(encoding="utf-8")
GREETING = "Hello, thank you for calling {company}. How are you today?"


def tone(path: Path, seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", str(rate), "-c", str(channels), str(path),
         "synth", str(seconds), "sine", "440", "vol", "0.3"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


def test_a_stereo_upload_is_stored_as_8_khz_mono_under_its_digest(tmp_path: Path) -> None:
    name = store_recording(tone(tmp_path / "hello.wav"), tmp_path / "rec", "support",
                           "greeting", "en")
    assert re.fullmatch(r"greeting\.en\.[0-9a-f]{16}\.wav", name)
    stored = tmp_path / "rec" / "support" / name
    info = inspect_recording(stored)
    assert (info.channels, info.clock_rate) == (1, 8000)
    assert info.seconds == pytest.approx(1.0, abs=0.01)
    again = store_recording(tone(tmp_path / "again.wav"), tmp_path / "rec", "support",
                            "greeting", "en")
    assert again == name  # the same audio is the same file
    other = store_recording(tone(tmp_path / "b.wav", 2.0), tmp_path / "rec", "support",
                            "greeting", "en")
    assert other != name and stored.exists()  # an older version keeps its audio


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: p.joinpath("big.wav").write_bytes(b"\0" * (10 * 1024 * 1024 + 1)) and
         p / "big.wav", "big.wav: larger than 10 MB"),
        (lambda p: tone(p / "long.wav", 61, 8000, 1), "long.wav: 61.0 s long; a prompt lasts "
                                                      "0.3 to 60 s"),
        (lambda p: p.joinpath("notes.wav").write_text("not audio") and p / "notes.wav",
         "notes.wav: not an audio file sox can read"),
    ],
)
def test_refused_uploads_store_nothing(tmp_path: Path, make, error) -> None:
    source = make(tmp_path)
    with pytest.raises(PromptError, match=re.escape(error)):
        store_recording(source, tmp_path / "rec", "support", "greeting", "en")
    assert not (tmp_path / "rec").exists() or not any((tmp_path / "rec").rglob("*.wav"))


def test_names_are_checked_never_paths(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="is not a recording file name"):
        recording_file(tmp_path, "support", "../../etc/passwd")
    with pytest.raises(PromptError, match=re.escape("flow name '../x' is not usable")):
        recording_file(tmp_path, "../x", "greeting.en.0123456789abcdef.wav")


def test_the_document_names_the_recording_on_the_prompts_line_only() -> None:
    name = "greeting.en.0123456789abcdef.wav"
    edited = with_recording(DEFAULT_TEXT, "greeting", "en", name)
    changed = [(a, b) for a, b in zip(DEFAULT_TEXT.splitlines(), edited.splitlines(),
                                      strict=True) if a != b]
    assert changed == [(f"    en: {GREETING}",
                        f'    en: {{text: "{GREETING}", recording: {name}}}')]
    flow = load_flow(edited)
    assert flow.recording("greeting", "en") == name and flow.recording("greeting", "it") is None
    assert flow.prompts["greeting"]["en"] == GREETING  # the text stays the fallback
    newer = with_recording(edited, "greeting", "en", "greeting.en.fedcba9876543210.wav")
    assert load_flow(newer).recording("greeting", "en") == "greeting.en.fedcba9876543210.wav"
    assert "# The default flow" in newer
    with pytest.raises(PromptError, match="no prompt 'nothing' in locale 'en'"):
        with_recording(DEFAULT_TEXT, "nothing", "en", name)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("{text: Hi, recording: ../x.wav}", "prompts.greeting.en.recording: '../x.wav' is not a "
                                            "recording file name"),
        ("{text: Hi, recording: identify.en.0123456789abcdef.wav}", "was uploaded for another "
                                                                    "prompt or locale"),
        ("{text: Hi, sound: x}", "prompts.greeting.en.sound: unknown field"),
    ],
)
def test_a_bad_recording_entry_is_refused_at_its_line(entry: str, error: str) -> None:
    text = DEFAULT_TEXT.replace(f"    en: {GREETING}", f"    en: {entry}")
    line = text.splitlines().index(f"    en: {entry}") + 1
    with pytest.raises(FlowError) as refused:
        load_flow(text)
    assert any(error in str(issue) and issue.line == line for issue in refused.value.issues)


def test_the_named_recording_plays_instead_of_the_text(tmp_path: Path) -> None:
    recordings, cache = tmp_path / "rec", tmp_path / "cache"
    name = store_recording(tone(tmp_path / "g.wav"), recordings, "support", "greeting", "en")
    played = prompt_audio("greeting", "Hello", "en", "support", recordings, cache,
                          recording=name)
    assert played == recordings / "support" / name
    missing = prompt_audio("greeting", "Hello", "en", "support", recordings, cache,
                           recording="greeting.en.0000000000000000.wav")
    assert missing == render_prompt("Hello", "en", cache)  # a lost file falls back to speech
    assert read_wav(played)[1] == 8000


def test_the_schema_accepts_a_named_recording() -> None:
    import jsonschema

    from ivr.flow_schema import flow_schema

    edited = with_recording(DEFAULT_TEXT, "greeting", "en", "greeting.en.0123456789abcdef.wav")
    jsonschema.validate(load_flow(edited).document, flow_schema())
    bad = edited.replace("0123456789abcdef.wav", "x.mp3")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(__import__("yaml").safe_load(bad), flow_schema())
