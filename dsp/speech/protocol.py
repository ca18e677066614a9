"""The vosk-server WebSocket protocol: the messages a client and the speech service exchange.

A stream is one WebSocket connection: an optional text ``{"config": {...}}`` message, then
binary chunks of 16-bit little-endian mono PCM, each answered by exactly one text reply (a
partial ``{"partial": ...}`` or a final ``{"text": ..., "result": [...]}``), and finally the
text ``{"eof" : 1}``, answered by the last final result, after which the server closes. Our
service also answers a bad message with ``{"error": ...}`` (never counted as a chunk reply).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The end-of-stream message, spelled exactly as vosk-server compares it (string equality).
EOF_MESSAGE = '{"eof" : 1}'
#: Newer vosk-server builds also accept this: finish the utterance and keep the stream open.
RESET_MESSAGE = '{"reset" : 1}'
#: The sample rate vosk-server assumes when a client sends no configuration.
DEFAULT_SAMPLE_RATE = 8000
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000


class ProtocolError(ValueError):
    """A message that does not belong to the protocol (its text is sent back as the error)."""


@dataclass(frozen=True)
class StreamConfig:
    """What a client may set in its ``config`` message; ``None`` keeps the server's default."""

    sample_rate: float | None = None
    words: bool | None = None
    phrase_list: tuple[str, ...] | None = None
    max_alternatives: int | None = None

    def message(self) -> str:
        fields: dict[str, Any] = {}
        if self.sample_rate is not None:
            fields["sample_rate"] = self.sample_rate
        if self.words is not None:
            fields["words"] = self.words
        if self.phrase_list is not None:
            fields["phrase_list"] = list(self.phrase_list)
        if self.max_alternatives is not None:
            fields["max_alternatives"] = self.max_alternatives
        return json.dumps({"config": fields}, ensure_ascii=False)


@dataclass(frozen=True)
class EndOfStream:
    """``{"eof": 1}``: answer with the final result and close."""


@dataclass(frozen=True)
class Reset:
    """``{"reset": 1}``: answer with the final result and start a new utterance."""


ClientText = StreamConfig | EndOfStream | Reset


def parse_client_text(text: str) -> ClientText:
    """Decode a text message from a client, raising `ProtocolError` with a readable reason."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"text message is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ProtocolError("text message must be a JSON object")
    if "config" in document:
        return _parse_config(document["config"])
    if document.get("eof"):
        return EndOfStream()
    if document.get("reset"):
        return Reset()
    keys = ", ".join(sorted(map(str, document))) or "none"
    raise ProtocolError(f"unknown message (keys: {keys}); expected config, eof or reset")


def _parse_config(fields: object) -> StreamConfig:
    if not isinstance(fields, dict):
        raise ProtocolError("config must be a JSON object")
    rate = fields.get("sample_rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ProtocolError(f"config.sample_rate must be a number, not {rate!r}")
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise ProtocolError(
                f"config.sample_rate {rate} is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
            )
    phrases = fields.get("phrase_list")
    if phrases is not None and (
        not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases)
    ):
        raise ProtocolError("config.phrase_list must be a list of strings")
    alternatives = fields.get("max_alternatives")
    if alternatives is not None and (
        isinstance(alternatives, bool) or not isinstance(alternatives, int) or alternatives < 0
    ):
        raise ProtocolError("config.max_alternatives must be a non-negative integer")
    words = fields.get("words")
    return StreamConfig(
        sample_rate=float(rate) if rate is not None else None,
        words=bool(words) if words is not None else None,
        phrase_list=tuple(phrases) if phrases is not None else None,
        max_alternatives=alternatives,
    )


def as_pcm(frame: np.ndarray | bytes | bytearray | memoryview) -> bytes:
    """16-bit little-endian PCM bytes from an int16 array or a bytes-like frame."""
    if isinstance(frame, np.ndarray):
        if frame.dtype != np.int16:
            raise TypeError(f"frames must be int16 samples, not {frame.dtype}")
        return frame.astype("<i2", copy=False).tobytes()
    data = bytes(frame)
    if len(data) % 2:
        raise ValueError(f"a 16-bit PCM frame has an even number of bytes, not {len(data)}")
    return data


def error_message(reason: str) -> str:
    return json.dumps({"error": reason}, ensure_ascii=False)


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing in seconds on the stream's timeline."""

    word: str
    start: float
    end: float
    conf: float = 1.0


class Timed:
    """A result's span: its first word's start and its last word's end (None without words)."""

    words: tuple[Word, ...]

    @property
    def start(self) -> float | None:
        return self.words[0].start if self.words else None

    @property
    def end(self) -> float | None:
        return self.words[-1].end if self.words else None


@dataclass(frozen=True)
class Recognition(Timed):
    """A partial (still changing) or final result for one utterance."""

    text: str
    final: bool
    words: tuple[Word, ...] = ()

    def shifted(self, seconds: float) -> Recognition:
        """The same result with word times moved by *seconds* (stream -> call timeline)."""
        if not seconds or not self.words:
            return self
        words = tuple(Word(w.word, w.start + seconds, w.end + seconds, w.conf) for w in self.words)
        return Recognition(self.text, self.final, words)


def parse_reply(payload: str | Mapping[str, Any]) -> Recognition | str:
    """A server reply as a `Recognition`, or the error text of an ``{"error": ...}`` reply."""
    document = json.loads(payload) if isinstance(payload, str) else payload
    if not isinstance(document, Mapping):
        raise ProtocolError("reply must be a JSON object")
    if "error" in document:
        return str(document["error"])
    if "partial" in document:
        return Recognition(str(document["partial"]), final=False, words=_words(document))
    if "alternatives" in document:  # max_alternatives > 0: take the best one
        best = document["alternatives"][0] if document["alternatives"] else {}
        return Recognition(str(best.get("text", "")), final=True, words=_words(best))
    if "text" in document or "result" in document:
        return Recognition(str(document.get("text", "")), final=True, words=_words(document))
    raise ProtocolError(f"unknown reply: {sorted(document)}")


def _words(document: Mapping[str, Any]) -> tuple[Word, ...]:
    items: Sequence[Mapping[str, Any]] = (
        document.get("result") or document.get("partial_result") or ()
    )
    return tuple(
        Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
        for w in items
    )
