"""A scripted caller that drives an interpreter without a phone, for tests and benchmarks.

Like pipecat's in-package test harness: whoever writes a flow, a worker stage or a benchmark
can play a call as events and read back every action.

    caller = ScriptedCaller(flow, CallContext("c1", "en", "ACME", lookup=accounts.get))
    caller.finish_prompt()
    caller.say("not great, my line is down", pitch_semitones=3.0)
    caller.finish_prompt()
    caller.finish_prompt()
    caller.keys("12345678#")
    caller.route().call_data["mood"]   # "upset"
"""

from __future__ import annotations

from collections.abc import Mapping

from ivr.events import (
    Action,
    DtmfDigit,
    Event,
    Hangup,
    PlayPrompt,
    PromptFinished,
    RouteToAgent,
    SpeechEnded,
    SpeechRecognised,
    SpeechStarted,
    Timeout,
)
from ivr.flow import Flow
from ivr.interpreter import MAX_PROMPTS, CallContext, Interpreter, Phase


class ScriptedCaller:
    """One call through one interpreter; ``actions`` keeps everything the worker would do."""

    def __init__(self, flow: Flow, context: CallContext) -> None:
        self.ivr = Interpreter(flow)
        self.actions: list[Action] = self.ivr.start(context)

    def send(self, *events: Event) -> list[Action]:
        out: list[Action] = []
        for event in events:
            out += self.ivr.on_event(event)
        self.actions += out
        return out

    def keys(self, digits: str) -> list[Action]:
        return self.send(*(DtmfDigit(digit) for digit in digits))

    def say(self, text: str, **prosody: float) -> list[Action]:
        """An utterance: voice starts, ends (with prosody, if given), then its final text."""
        features: Mapping[str, float] | None = prosody or None
        return self.send(SpeechStarted(), SpeechEnded(features), SpeechRecognised(text))

    def finish_prompt(self) -> list[Action]:
        return self.send(PromptFinished(self.ivr.playing))

    def timeout(self) -> list[Action]:
        return self.send(Timeout(self.ivr.timer))

    def stay_silent(self) -> list[Action]:
        """Let every prompt finish and every timer run out until the call leaves the IVR."""
        out: list[Action] = []
        for _ in range(4 * MAX_PROMPTS):
            if self.ivr.phase is Phase.DONE:
                return out
            out += self.finish_prompt() if self.ivr.phase is Phase.PROMPTING else self.timeout()
        raise RuntimeError(f"the IVR did not end after {self.ivr.call_data['steps']}")

    def prompts(self) -> list[str]:
        return [a.prompt_id for a in self.actions if isinstance(a, PlayPrompt)]

    def route(self) -> RouteToAgent:
        """The one hand-over to a person (fails if there is none, or more than one)."""
        (route,) = [a for a in self.actions if isinstance(a, RouteToAgent)]
        return route

    def ends(self) -> list[RouteToAgent | Hangup]:
        return [a for a in self.actions if isinstance(a, RouteToAgent | Hangup)]
