"""The flat flow interpreter: a pure state machine from caller events to worker actions.

The worker makes one `Interpreter` per call from the latest stored flow (so an edited flow is
used from the next call on, without restarting anything), calls `start` once the call is
answered, feeds every event to `on_event` and performs the actions returned, in order.

Rules that hold for every flow: the caller can talk or key over any prompt (barge-in); the
operator key or a word such as "agent" reaches a person at any step (at identify, the operator
key alone, since account numbers contain zeros); a step that gets no answer or a wrong one is
retried at most ``retries`` times, then silence goes to a person, an unknown account goes on
unidentified, an answer to a question that was heard but not understood goes on without it; the
flow graph has no cycles and each call hears at most `MAX_PROMPTS` prompts, so every call ends
at a person or a hang-up.

This module owns the call's turns: steps, prompts, barge-in, timers, retries and routing. What an
answer means (identification, menu choices, mood, operator words) is `ivr.answers.Answering`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.accounts import AccountLookup, AccountMatch, keyed_digits, spoken_digits
from ivr.answers import ACCOUNT_KEYED, ACCOUNT_SPOKEN, CALLER_ID, KNOWN_GREETING, Answering
from ivr.events import (
    Action,
    DtmfDigit,
    Event,
    Hangup,
    Listen,
    PlayPrompt,
    PromptFinished,
    RouteToAgent,
    SpeechEnded,
    SpeechRecognised,
    SpeechStarted,
    StepEntered,
    StopPrompt,
    Timeout,
)
from ivr.flow import Flow
from ivr.steps import (
    AcknowledgeStep,
    AnnouncementStep,
    HangupStep,
    IdentifyStep,
    MenuStep,
    QuestionStep,
    RouteStep,
    Step,
    asking,
)

#: Seconds to wait for the final result after the end of an utterance.
RESULT_WAIT = 2.0
#: A call never hears more prompts than this, whatever the flow: then it goes to a person.
MAX_PROMPTS = 16

#: Names that other modules import from here (the identification labels live in ivr.answers).
__all__ = [
    "ACCOUNT_KEYED",
    "ACCOUNT_SPOKEN",
    "CALLER_ID",
    "MAX_PROMPTS",
    "CallContext",
    "Interpreter",
    "Phase",
]


def _no_account(_digits: str) -> AccountMatch | None:
    return None


@dataclass(frozen=True)
class CallContext:
    """What the worker knows about the call when the IVR starts."""

    call_id: str
    locale: str | None = None  # the caller's preference, else the support number's
    company: str = ""
    queue: str = "support"
    caller: str = ""
    lookup: AccountLookup = _no_account
    known_caller: AccountMatch | None = None  # the one customer the caller ID matched
    caller_id_matches: int = 0  # how many customers it matched (several: ask the account)


class Phase(enum.Enum):
    PROMPTING = "prompting"  # a prompt is playing
    WAITING = "waiting"  # the caller's turn, nothing heard yet (or keys being typed)
    SPEAKING = "speaking"  # VAD says the caller is talking
    RESULT = "result"  # the utterance ended, waiting for the final transcript
    DONE = "done"


class Interpreter(Answering):
    """Runs one call through one flow; not thread-safe (feed it from one loop)."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.phase = Phase.DONE
        self.step: Step = flow.first
        self.timer = 0
        self.playing: str | None = None
        self.attempts = 0
        self.keys = ""
        self.partial = ""
        self.heard = ""  # final results of the caller's turn so far (their speech has pauses)
        self.prosody: Mapping[str, float] | None = None
        self.prompts_played = 0
        self.carried = False  # the step began with an event from the step before (barge-in)
        self.mood_wants_prosody = False
        self.call_data: dict[str, Any] = {}
        self._out: list[Action] = []
        self._on_event: dict[type[Event], Callable[[Any], None]] = {
            DtmfDigit: self._dtmf,
            SpeechStarted: self._speech_started,
            SpeechEnded: self._speech_ended,
            SpeechRecognised: self._transcript,
            PromptFinished: self._prompt_finished,
            Timeout: self._timeout,
        }

    @property
    def finished(self) -> bool:
        return self.phase is Phase.DONE and bool(self.call_data)

    def start(self, context: CallContext) -> list[Action]:
        """Begin the flow for an answered call: the first prompt (and a step notice)."""
        self.context = context
        self.locale = self.flow.locale_for(context.locale)
        self.call_data = {
            "flow": self.flow.name,
            "locale": self.locale,
            "caller": context.caller,
            "greeting_transcript": "",
            "answers": {},
            "mood": "neutral",
            "mood_score": 0.0,
            "identified": False,
            "account_number": None,
            "account_id": None,
            "customer_id": None,
            "customer_name": None,
            "preferred_agent_id": None,
            "steps": [],
            "skipped_steps": [],
            "route_reason": None,
            "identified_by": None,
            "caller_id_matches": context.caller_id_matches,
        }
        if context.known_caller is not None:
            self._identified(context.known_caller, CALLER_ID)
        self._enter(self.flow.first)
        return self._flush()

    def on_event(self, event: Event) -> list[Action]:
        """The actions for one event; events after the end of the flow are ignored."""
        handle = self._on_event.get(type(event))
        if handle is None:
            raise TypeError(f"not an IVR event: {event!r}")
        if self.phase is not Phase.DONE:
            handle(event)
        return self._flush()

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    # --- steps -----------------------------------------------------------------------------------

    def _enter(self, step: Step, carry: Event | None = None) -> None:
        if isinstance(step, IdentifyStep) and self.call_data["identified_by"] == CALLER_ID:
            self.step = step  # known by caller ID: never asked twice for what we know
            self.call_data["skipped_steps"].append(step.id)
            self._advance(carry)
            return
        if isinstance(step, AnnouncementStep) and not step.enabled:
            self.step = step
            self._advance(carry)
            return
        self.step, self.attempts, self.keys, self.partial = step, 0, "", ""
        self.heard = ""
        self.carried = carry is not None
        self.call_data["steps"].append(step.id)
        self._out.append(StepEntered(step.id, step.kind))
        if isinstance(step, RouteStep):
            self._route("flow", step)
        elif isinstance(step, HangupStep):
            if step.prompt and carry is None:
                self._play(step.prompt)
            else:
                self._hang_up()
        elif isinstance(step, AnnouncementStep | AcknowledgeStep):
            if carry is not None:
                self._advance(carry)
            else:
                self._play(self._output_prompt(step))
        elif carry is None:
            self._play(asking(step).prompt)
        else:
            self.phase = Phase.WAITING
            self._on_event[type(carry)](carry)

    def _output_prompt(self, step: AnnouncementStep | AcknowledgeStep) -> str:
        if isinstance(step, AnnouncementStep):
            return step.prompt
        return step.prompts.get(self.call_data["mood"], step.prompts["neutral"])

    def _advance(self, carry: Event | None = None, to: str | None = None) -> None:
        target = to or self.step.next
        if target is None:  # only terminal steps lack a next, and they never advance
            self._route("flow")
            return
        self._enter(self.flow.step(target), carry)

    def _play(self, prompt_id: str) -> None:
        if self.prompts_played >= MAX_PROMPTS:
            self._route("too_many_prompts")
            return
        text = self.flow.prompt_text(prompt_id, self.locale, {"company": self.context.company})
        name = self.call_data.get("customer_name")
        if self.prompts_played == 0 and name and self.call_data["identified_by"] == CALLER_ID:
            text = (
                f"{KNOWN_GREETING.get(self.locale, KNOWN_GREETING['en']).format(name=name)} {text}"
            )
        self.prompts_played += 1
        self.playing, self.phase = prompt_id, Phase.PROMPTING
        self._out.append(PlayPrompt(prompt_id, text, self.locale))

    def _stop_prompt(self) -> None:
        if self.playing is not None:
            self.playing = None
            self._out.append(StopPrompt())

    def _listen(self, seconds: float, phase: Phase) -> None:
        self.timer += 1
        self.phase = phase
        self._out.append(Listen(seconds, self.timer))

    def _route(self, reason: str, step: RouteStep | None = None) -> None:
        self._stop_prompt()
        step = step or next((s for s in self.flow.steps if isinstance(s, RouteStep)), None)
        if step is not None and step.prompt and self.prompts_played < MAX_PROMPTS:
            self._play(step.prompt)
            self.playing = None  # played while the call is routed; nothing waits for it
        queue = (step.queue if step else None) or self.flow.queue or self.context.queue
        self.call_data["route_reason"] = reason
        skills = step.skills if step else ()
        self._out.append(RouteToAgent(queue, dict(self.call_data), skills, reason))
        self.phase = Phase.DONE

    def _hang_up(self) -> None:
        self._stop_prompt()
        self.call_data["route_reason"] = "hangup"
        self._out.append(Hangup("flow"))
        self.phase = Phase.DONE

    def _fail(self, reason: str) -> None:
        """A turn without a usable answer: retry the step, or give up as the step kind says."""
        self.keys, self.partial, self.heard = "", "", ""
        step = self.step
        if self.carried and reason in ("no_input", "no_match"):
            # what was said over the last prompt did not fit this step: ask properly, once
            self.carried = False
            self._play(asking(step).prompt)
        elif self.attempts < getattr(step, "retries", 0):
            self.attempts += 1
            self._play(asking(step).retry_prompt or asking(step).prompt)
        elif isinstance(step, IdentifyStep) and reason != "no_input":
            self.call_data["identified"] = False
            self.call_data["identify_failure"] = reason
            self._advance()
        elif isinstance(step, QuestionStep) and reason != "no_input":
            self._record_answer("")  # heard but not understood: the question was small talk
            self._advance()
        else:
            self._route(reason)

    @property
    def _is_input_step(self) -> bool:
        return isinstance(self.step, QuestionStep | IdentifyStep | MenuStep)

    def _interrupt(self, event: Event) -> bool:
        """Barge-in on a prompt: True when the event was handed to the next step."""
        if self.phase is not Phase.PROMPTING:
            return False
        self._stop_prompt()
        if isinstance(self.step, HangupStep):
            self._hang_up()
            return True
        if not self._is_input_step:
            self._advance(carry=event)
            return True
        self.phase = Phase.WAITING
        return False

    # --- events ----------------------------------------------------------------------------------

    def _prompt_finished(self, event: PromptFinished) -> None:
        if self.phase is not Phase.PROMPTING:
            return
        if event.prompt_id is not None and event.prompt_id != self.playing:
            return
        self.playing = None
        if isinstance(self.step, HangupStep):
            self._hang_up()
        elif self._is_input_step:
            self._listen(getattr(self.step, "timeout", 6.0), Phase.WAITING)
        else:
            self._advance()

    def _speech_started(self, event: SpeechStarted) -> None:
        if self._interrupt(event):
            return
        self.partial, self.heard, self.prosody = "", "", None
        self._listen(getattr(self.step, "max_utterance", 15.0), Phase.SPEAKING)

    def _speech_ended(self, event: SpeechEnded) -> None:
        if event.prosody is not None:
            self.prosody = event.prosody
            if self.mood_wants_prosody:  # the final result came before the end of speech
                self.mood_wants_prosody = False
                self._estimate_mood(self.call_data["greeting_transcript"])
        if self.phase is Phase.SPEAKING:
            if self.heard:  # the recognizer finished as the caller paused: answer at once
                self._answer_text(self.heard)
            else:
                self._listen(RESULT_WAIT, Phase.RESULT)

    def _transcript(self, event: SpeechRecognised) -> None:
        text = event.text.strip()
        if not event.final:
            if self.phase in (Phase.SPEAKING, Phase.RESULT) and text:
                self.partial = text
            return
        if text and self._asks_for_person(text):
            self._route("operator")
            return
        if self.phase in (Phase.PROMPTING, Phase.WAITING):
            # no voice heard since the prompt began: the recogniser heard the prompt's echo
            # (its final often comes after the prompt ended, through a line the canceller
            # cannot follow), noise, or a turn already answered; keys being typed win anyway
            return
        text = f"{self.heard} {text}".strip()
        if self.phase is Phase.SPEAKING:  # a pause, not the end of the turn: keep listening
            self.heard = text
            return
        self._answer_text(text)

    def _dtmf(self, event: DtmfDigit) -> None:
        digit = event.digit
        escape = self.flow.operator_key
        if digit == escape and not isinstance(self.step, IdentifyStep):
            self._route("operator")
            return
        if self._interrupt(event):
            return
        self.partial = ""
        if isinstance(self.step, QuestionStep):
            # keys instead of an answer: skip the question and let the next step have them
            self._record_answer("")
            self._advance(carry=event)
        elif isinstance(self.step, IdentifyStep):
            self._identify_key(self.step, digit)
        elif isinstance(self.step, MenuStep):
            self._choose(self.step, lambda option: option.key == digit)

    def _timeout(self, event: Timeout) -> None:
        if event.timer != self.timer or self.phase is Phase.PROMPTING:
            return
        if self.phase is Phase.WAITING and self.keys and isinstance(self.step, IdentifyStep):
            self._identify_digits(self.step, keyed_digits(self.keys), keyed=self.keys)
        elif self.phase in (Phase.SPEAKING, Phase.RESULT) and (self.heard or self.partial):
            # the turn went on too long, or its final result never came: what was heard
            self._answer_text(f"{self.heard} {self.partial}".strip())
        elif self.phase is Phase.WAITING:
            self._fail("no_input")
        else:
            self._fail("no_match")

    # --- answers ---------------------------------------------------------------------------------

    def _answer_text(self, text: str) -> None:
        if not text:  # voice without words is not silence
            self._fail("no_match" if self.phase in (Phase.SPEAKING, Phase.RESULT) else "no_input")
        elif isinstance(self.step, QuestionStep):
            self._record_answer(text)
            self._advance()
        elif isinstance(self.step, IdentifyStep):
            digits = spoken_digits(text, self.locale)
            if digits is None:
                self._fail("no_match")
            else:
                self._identify_digits(self.step, digits, keyed="")
        elif isinstance(self.step, MenuStep):
            self._choose(self.step, lambda option: self._says_any(text, option.words))

    def _identify_key(self, step: IdentifyStep, key: str) -> None:
        if key == "*":
            self.keys = ""
        elif key == "#":
            if self.keys:
                self._identify_digits(step, keyed_digits(self.keys), keyed=self.keys)
                return
        else:
            self.keys += key
            if len(self.keys) >= step.max_digits:
                self._identify_digits(step, self.keys, keyed=self.keys)
                return
        self._listen(self.flow.inter_digit_timeout if self.keys else step.timeout, Phase.WAITING)
