"""The caller's listening chain on synthetic calls: echo, speech over a prompt, in-band keys."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.dtmf import dtmf_signal
from ivr.events import DtmfDigit, Event, SpeechEnded, SpeechStarted
from ivr.listening import WARM_FRAMES, CallerListener, warm_up
from ivr.prompts import speech_samples
from telephony.testing.signals import hoth_noise

FRAME = 160


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    cache = tmp_path_factory.mktemp("listening-speech")
    warm_up()
    return {
        "prompt": speech_samples("Please say or key in your account number.", "en", cache),
        "caller": speech_samples("안녕하세요. 요금에 대해 상담하고 싶어요.", "ko", cache),
    }


def echo_of(played: np.ndarray, delay_ms: int = 120, gain_db: float = -14.0) -> np.ndarray:
    """A handset's echo: delayed, low-passed, attenuated."""
    delayed = np.concatenate([np.zeros(delay_ms * 8), played.astype(np.float64)])[: len(played)]
    return np.convolve(delayed, [0.25, 0.5, 0.25])[: len(played)] * 10 ** (gain_db / 20)


def run(played: np.ndarray, heard: np.ndarray) -> list[tuple[int, Event]]:
    """Frames through one listener, ours and the caller's interleaved as the taps deliver them."""
    events: list[tuple[int, Event]] = []
    listener = CallerListener(lambda event: events.append((listener.frames, event)))
    length = max(len(played), len(heard))
    played = np.pad(played, (0, length - len(played))).astype(np.int16)
    heard = np.clip(np.pad(heard, (0, length - len(heard))), -32768, 32767).astype(np.int16)
    for start in range(0, length - FRAME + 1, FRAME):
        listener.sent(played[start : start + FRAME])
        listener.hear(heard[start : start + FRAME])
    return events


def speech_starts(events: list[tuple[int, Event]]) -> list[int]:
    return [frame for frame, event in events if isinstance(event, SpeechStarted)]


def test_the_echo_of_a_prompt_is_not_speech(voices: dict[str, np.ndarray]) -> None:
    prompt = np.tile(voices["prompt"], 2)
    assert run(prompt, echo_of(prompt)) == []


def test_the_caller_talking_over_a_prompt_starts_speech_then_ends_it(
    voices: dict[str, np.ndarray],
) -> None:
    prompt = np.tile(voices["prompt"], 2)
    onset = len(voices["prompt"])  # the caller starts in the middle of our prompt
    caller = np.zeros(max(len(prompt), onset + len(voices["caller"])) + 8000)
    caller[onset : onset + len(voices["caller"])] += voices["caller"]
    caller[: len(prompt)] += echo_of(prompt)
    events = run(prompt, caller)
    kinds = [type(event) for _, event in events]
    assert kinds[:1] == [SpeechStarted] and SpeechEnded in kinds
    started_at = events[0][0] * FRAME
    assert onset <= started_at < onset + 8000  # within a second of the caller's first word


def test_inband_keys_are_digits_not_speech() -> None:
    tones = dtmf_signal("1234#", tone_ms=100, pause_ms=100, lead_ms=200)
    events = run(np.zeros(len(tones) + 8000), np.concatenate([tones, np.zeros(8000)]))
    assert [event for _, event in events] == [DtmfDigit(d, "inband") for d in "1234#"]


def test_a_prompt_of_our_own_is_never_read_as_keys(voices: dict[str, np.ndarray]) -> None:
    prompt = voices["prompt"]
    assert not [
        e for _, e in run(prompt, echo_of(prompt, gain_db=-6.0)) if isinstance(e, DtmfDigit)
    ]


class _Ends:
    """Stands in for the speech client: which frames the listener ended an utterance at."""

    def __init__(self, listener: CallerListener) -> None:
        self.listener, self.at = listener, []

    def feed(self, _frame: np.ndarray) -> None:
        return None

    def end_utterance(self, deliver: bool = True) -> None:
        self.at.append(self.listener.frames if deliver else -self.listener.frames)


def test_the_stream_gets_one_final_on_the_greetings_silence_then_one_per_pause(
    voices: dict[str, np.ndarray],
) -> None:
    """A final on silence before the caller speaks (the stream's first final is the slowest),
    then one at each of the caller's pauses, none while they talk."""
    listener = CallerListener(lambda _event: None)
    ends = _Ends(listener)
    listener.speech = ends  # type: ignore[assignment]
    quiet = np.zeros(WARM_FRAMES * FRAME + 8000, dtype=np.int16)
    heard = np.concatenate([quiet, voices["caller"], np.zeros(8000)]).astype(np.int16)
    for start in range(0, len(heard) - FRAME + 1, FRAME):
        listener.hear(heard[start : start + FRAME])
    assert ends.at[0] == -WARM_FRAMES  # its final is not delivered
    later = ends.at[1:]
    speech_from, speech_to = len(quiet) // FRAME, (len(quiet) + len(voices["caller"])) // FRAME
    assert len(later) >= 2 and all(speech_from < at <= speech_to + 10 for at in later), ends.at


@pytest.mark.parametrize("noise_dbfs", [-40.0, -45.0, -50.0])
def test_a_rooms_steady_noise_is_not_speech_when_a_prompt_ends(
    voices: dict[str, np.ndarray], noise_dbfs: float
) -> None:
    """A quiet caller in a noisy room (no echo at all): while the prompt plays, the canceller's
    suppressor takes the noise for residual echo and attenuates it by up to 40 dB; the voice
    detector's noise floor must not learn that quiet (it learns from the frame before the
    canceller), or the same noise, back at its level when the prompt ends, reads as speech.
    The old floor did: a SpeechStarted just after the prompt's end, at each level."""
    prompt = np.tile(voices["prompt"], 3)
    tail = 8000 * 4
    noise = hoth_noise(len(prompt) + tail, noise_dbfs + 3.14, seed=17)  # dBm0 of that dBFS
    assert not speech_starts(run(prompt, noise))
    caller = voices["caller"]
    late = np.concatenate([np.zeros(len(prompt) + 8000), caller, np.zeros(tail)])
    noise = hoth_noise(len(late), noise_dbfs + 3.14, seed=17)
    assert speech_starts(run(prompt, late + noise))  # the caller who then speaks is heard
