"""Events the switch worker feeds the IVR interpreter, and actions the interpreter asks it to do.

Small typed frames in the spirit of pipecat: the worker turns media and SIP into events (keys,
voice activity, recognised speech, prompt playback, timers) and performs the actions it gets
back (play or stop a prompt, arm the listening timer, hand the call to a person, hang up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --- events: worker -> interpreter ---------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Something that happened on the caller's leg."""


@dataclass(frozen=True)
class DtmfDigit(Event):
    """A key, one of 0-9, ``*``, ``#``; ``method`` says how it came (rfc4733, info, inband)."""

    digit: str
    method: str = "rfc4733"


@dataclass(frozen=True)
class SpeechStarted(Event):
    """VAD on the echo-cancelled caller audio heard speech begin (barge-in during a prompt)."""


@dataclass(frozen=True)
class SpeechEnded(Event):
    """VAD heard the end of an utterance; ``prosody`` as `ivr.mood` documents, when measured."""

    prosody: Mapping[str, float] | None = None
    #: The utterance's own features (`dsp.prosody.UtteranceProsody` as a mapping), when measured.
    utterance: Mapping[str, float] | None = None


@dataclass(frozen=True)
class SpeechRecognised(Event):
    """What the recogniser heard: partial results may change, a final one is the utterance's
    text (the speech client's timed `dsp.speech.client.Transcript`, reduced to what flows use)."""

    text: str
    final: bool = True


@dataclass(frozen=True)
class PromptFinished(Event):
    """The prompt played to its end (``prompt_id`` guards against a late report of an old one)."""

    prompt_id: str | None = None


@dataclass(frozen=True)
class Timeout(Event):
    """The timer armed by the `Listen` action with this ``timer`` number ran out."""

    timer: int


# --- actions: interpreter -> worker --------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """Something the worker must do (or publish) for the call."""


@dataclass(frozen=True)
class PlayPrompt(Action):
    """Play ``text`` in ``locale`` (or the recording uploaded for ``prompt_id``) to the caller."""

    prompt_id: str
    text: str
    locale: str
    barge_in: bool = True


@dataclass(frozen=True)
class StopPrompt(Action):
    """Stop the prompt now playing (the caller talked or keyed over it)."""


@dataclass(frozen=True)
class Listen(Action):
    """Caller's turn: send `Timeout` (with ``timer``) after ``timeout`` s; replaces older timers."""

    timeout: float
    timer: int


@dataclass(frozen=True)
class RouteToAgent(Action):
    """Hand the call to a person in ``queue``; ``call_data`` goes to the router and console."""

    queue: str
    call_data: Mapping[str, Any]
    skills: tuple[str, ...] = ()
    reason: str = "flow"


@dataclass(frozen=True)
class Hangup(Action):
    """End the call (a flow that closes with a goodbye)."""

    reason: str = "flow"


@dataclass(frozen=True)
class StepEntered(Action):
    """Nothing to perform: publish as an ``ivr.step`` event."""

    step_id: str
    kind: str


@dataclass(frozen=True)
class MoodEstimated(Action):
    """Nothing to perform: publish as a ``mood`` event (``mood`` is `ivr.mood.Mood.as_dict`)."""

    mood: Mapping[str, Any] = field(default_factory=dict)
