"""Streaming recognition of one audio stream with a shared Vosk model: frames in, results out.

Feed 20 ms frames of 16-bit mono PCM at 8 or 16 kHz; each call returns a partial result, or a
final one when Vosk detects the end of an utterance (trailing silence). Word timings are on
the stream's timeline in seconds. A phrase list restricts recognition to those phrases when the
model has a runtime graph; otherwise `GrammarError` says why it cannot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from dsp.speech.models import SpeechModel
from dsp.speech.protocol import Recognition, as_pcm, parse_reply

SUPPORTED_RATES = (8000, 16000)
#: Vosk's own garbage word; dropped silently from a phrase list when the model lacks it.
UNKNOWN_WORD = "[unk]"


class GrammarError(ValueError):
    """A phrase list the model cannot use (no runtime graph, or unknown words)."""


def grammar_json(model: SpeechModel, phrases: Sequence[str]) -> str:
    """The Vosk grammar for *phrases*, or `GrammarError` saying why this model cannot take it."""
    if not model.grammar:
        raise GrammarError(
            f"the {model.locale!r} model at {model.path} has no runtime graph "
            "(graph/HCLr.fst + graph/Gr.fst), so it cannot restrict recognition to a phrase "
            "list; use a model that has one (the vosk-model-small-* models do) or drop the list"
        )
    words = {w for phrase in phrases for w in phrase.split()}
    missing = set(model.missing_words(words))
    unknown = sorted(missing - {UNKNOWN_WORD})
    if unknown:
        raise GrammarError(
            f"the {model.locale!r} model at {model.path} does not know "
            f"{', '.join(repr(w) for w in unknown)}; a phrase list can only use its vocabulary"
        )
    kept = [p for p in phrases if not (p == UNKNOWN_WORD and UNKNOWN_WORD in missing)]
    return json.dumps(kept, ensure_ascii=False)  # Vosk needs the words unescaped


class StreamingRecognizer:
    """One stream's recognizer (a `vosk.KaldiRecognizer` over a shared `SpeechModel`).

    Not thread-safe: feed a stream from one thread at a time. Many recognizers may share a model
    and run in parallel threads (Vosk releases the GIL while decoding).
    """

    def __init__(
        self,
        model: SpeechModel,
        sample_rate: int | float = 8000,
        *,
        words: bool = True,
        phrases: Sequence[str] | None = None,
        max_alternatives: int = 0,
        any_rate: bool = False,
    ) -> None:
        if not any_rate and sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"sample rate {sample_rate} Hz: expected one of {SUPPORTED_RATES}")
        import vosk

        self.model = model
        self.sample_rate = float(sample_rate)
        if phrases:
            self._engine = vosk.KaldiRecognizer(
                model.engine, self.sample_rate, grammar_json(model, phrases)
            )
        else:
            self._engine = vosk.KaldiRecognizer(model.engine, self.sample_rate)
        self._engine.SetWords(words)
        if max_alternatives:
            self._engine.SetMaxAlternatives(max_alternatives)
        self.samples = 0

    @property
    def position(self) -> float:
        """Seconds of audio accepted so far."""
        return self.samples / self.sample_rate

    def accept_json(self, pcm: bytes) -> str:
        """Feed PCM bytes; Vosk's own JSON reply (partial, or final at an utterance's end)."""
        self.samples += len(pcm) // 2
        if self._engine.AcceptWaveform(pcm):
            return str(self._engine.Result())
        return str(self._engine.PartialResult())

    def finish_json(self) -> str:
        """End the current utterance and return its final result as Vosk's JSON."""
        return str(self._engine.FinalResult())

    def accept(self, frame: np.ndarray | bytes) -> Recognition:
        return _recognition(self.accept_json(as_pcm(frame)))

    def finish(self) -> Recognition:
        return _recognition(self.finish_json())

    def reset(self) -> None:
        """Drop the current utterance without a result."""
        self._engine.Reset()


def _recognition(payload: str) -> Recognition:
    result = parse_reply(payload)
    assert isinstance(result, Recognition), result  # Vosk itself never answers with an error
    return result
