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

`rehearse` walks a flow with turns an admin typed (`parse_turns`: one per line, spoken words,
keys or silence) and reports each prompt said, each step taken and the final routing: the
console's flow rehearsal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ivr.accounts import AccountLookup
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
    StepEntered,
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


# --- rehearsal of typed turns ------------------------------------------------------------------

#: At most this many turns, each at most this long.
MAX_TURNS = 40
MAX_TURN_LENGTH = 300
_KEYS = re.compile(r"^[0-9*#]{1,32}$")
_SILENCE = ("silence", "(silence)", "...")


class TurnError(ValueError):
    """A typed turn that cannot be played; the message names its line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Turn:
    """What the caller does when it is their turn: ``say`` words, key ``keys``, or stay silent."""

    kind: str  # say | keys | silence
    value: str = ""
    line: int = 0

    def describe(self) -> str:
        if self.kind == "silence":
            return "(silence)"
        return f"keys {self.value}" if self.kind == "keys" else f"says \u201c{self.value}\u201d"


def parse_turns(text: str) -> list[Turn]:
    """One turn per line: ``silence``; keys such as ``12345678#`` (or ``keys: 12#``); anything
    else is spoken words (or ``say: ...``, to speak digits or the word silence). Blank lines
    and lines starting with ``#`` followed by a space are skipped. TurnError names a bad line."""
    turns: list[Turn] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("# "):
            continue
        if len(line) > MAX_TURN_LENGTH:
            raise TurnError(number, f"longer than {MAX_TURN_LENGTH} characters")
        if not line.isprintable():
            raise TurnError(number, "contains control characters")
        head, colon, rest = line.partition(":")
        kind = head.strip().lower() if colon else ""
        if kind in ("say", "says"):
            words = rest.strip()
            if not words:
                raise TurnError(number, "'say:' needs the words the caller says")
            turns.append(Turn("say", words, number))
        elif kind in ("keys", "key", "dtmf"):
            keys = rest.replace(" ", "")
            if not _KEYS.match(keys):
                raise TurnError(number, f"{rest.strip()!r} are not keys (1 to 32 of 0-9, * and #)")
            turns.append(Turn("keys", keys, number))
        elif line.lower() in _SILENCE:
            turns.append(Turn("silence", "", number))
        elif _KEYS.match(line.replace(" ", "")):
            turns.append(Turn("keys", line.replace(" ", ""), number))
        else:
            turns.append(Turn("say", line, number))
        if len(turns) > MAX_TURNS:
            raise TurnError(number, f"at most {MAX_TURNS} turns")
    return turns


@dataclass
class Rehearsal:
    """What a rehearsed call did: ``lines`` in order (each a dict with ``kind``: prompt, step,
    turn or end), and how it ended (``route`` for a person, else a hang-up)."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    route: RouteToAgent | None = None
    hung_up: bool = False
    unused_turns: list[Turn] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        end: dict[str, Any] = {"outcome": "hangup" if self.hung_up else "route"}
        if self.route is not None:
            end.update(queue=self.route.queue, skills=list(self.route.skills),
                       reason=self.route.reason, call_data=dict(self.route.call_data))
        return {"lines": self.lines, "end": end,
                "unused_turns": [t.line for t in self.unused_turns]}


def _note(rehearsal: Rehearsal, actions: list[Action]) -> None:
    for action in actions:
        if isinstance(action, PlayPrompt):
            rehearsal.lines.append({"kind": "prompt", "prompt": action.prompt_id,
                                    "locale": action.locale, "text": action.text})
        elif isinstance(action, StepEntered):
            rehearsal.lines.append({"kind": "step", "step": action.step_id,
                                    "step_kind": action.kind})
        elif isinstance(action, RouteToAgent):
            rehearsal.route = action
            rehearsal.lines.append({"kind": "end", "text": f"to a person in {action.queue} "
                                                           f"({action.reason})"})
        elif isinstance(action, Hangup):
            rehearsal.hung_up = True
            rehearsal.lines.append({"kind": "end", "text": "hang-up"})


def rehearse(
    flow: Flow,
    turns: list[Turn],
    locale: str | None = None,
    company: str = "",
    lookup: AccountLookup | None = None,
) -> Rehearsal:
    """Play *turns* through *flow* as a caller would: every prompt plays to its end, then the
    caller takes the next turn (a turn of keys is followed by a pause, as when a caller stops
    typing); once the turns run out the caller stays silent until the flow ends."""
    context = CallContext("rehearsal", locale, company or flow.variables.get("company", ""))
    if lookup is not None:
        context = replace(context, lookup=lookup)
    caller = ScriptedCaller(flow, context)
    rehearsal = Rehearsal()
    _note(rehearsal, caller.actions)
    waiting = list(turns)
    for _ in range(4 * MAX_PROMPTS + 2 * len(turns) + 4):
        ivr = caller.ivr
        if ivr.phase is Phase.DONE:
            break
        if ivr.phase is Phase.PROMPTING:
            _note(rehearsal, caller.finish_prompt())
            continue
        turn = waiting.pop(0) if waiting else Turn("silence")
        said = turn.describe() if turn.line else "(silence: no turns left)"
        rehearsal.lines.append({"kind": "turn", "line": turn.line, "text": said,
                                "at_step": ivr.step.id})
        if turn.kind == "say":
            _note(rehearsal, caller.say(turn.value))
        elif turn.kind == "keys":
            _note(rehearsal, caller.keys(turn.value))
            if ivr.phase is Phase.WAITING and ivr.keys:
                _note(rehearsal, caller.timeout())  # the caller stops typing
        else:
            _note(rehearsal, caller.timeout())
    else:
        raise RuntimeError(f"the rehearsal did not end after {caller.ivr.call_data['steps']}")
    rehearsal.unused_turns = waiting
    return rehearsal
