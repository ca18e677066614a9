"""One recognition stream of the speech service: the settings its config chose, then its
recognizer."""

from __future__ import annotations

from dataclasses import dataclass

from dsp.speech.models import SpeechModel
from dsp.speech.protocol import DEFAULT_SAMPLE_RATE, ProtocolError, StreamConfig
from dsp.speech.recognizer import StreamingRecognizer, grammar_json


@dataclass
class Stream:
    """One connection's recognition state: settings from its config, then a recognizer."""

    model: SpeechModel
    sample_rate: float = DEFAULT_SAMPLE_RATE
    words: bool = True
    phrases: tuple[str, ...] | None = None
    max_alternatives: int = 0
    recognizer: StreamingRecognizer | None = None
    chunks: int = 0
    errors: int = 0
    samples: int = 0  # audio received, to bound the stream's length

    def configure(self, config: StreamConfig) -> None:
        if self.recognizer is not None:
            raise ProtocolError("config must come before the first audio chunk; ignored")
        if config.sample_rate is not None:
            self.sample_rate = config.sample_rate
        if config.words is not None:
            self.words = config.words
        if config.max_alternatives is not None:
            self.max_alternatives = config.max_alternatives
        if config.phrase_list is not None:
            grammar_json(self.model, config.phrase_list)  # GrammarError: reported, list dropped
            self.phrases = config.phrase_list or None

    def engine(self) -> StreamingRecognizer:
        if self.recognizer is None:
            self.recognizer = StreamingRecognizer(
                self.model,
                self.sample_rate,
                words=self.words,
                phrases=self.phrases,
                max_alternatives=self.max_alternatives,
                any_rate=True,
            )
        return self.recognizer
