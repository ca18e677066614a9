"""The IVR as the switch worker's call flow: the interpreter, the listening chain and the store.

`IvrFlows` is built once per worker (``extra.flow``, the default): it keeps the flow cache, the
account lookup, the prompt renderer and a small background pool, and makes an `IvrCall` for
each answered call. An `IvrCall` runs `ivr.interpreter.Interpreter` on the latest stored flow of
the dialled number, feeds it SIP keys, the listening chain's events (`ivr.listening`), prompt
ends and timers, and performs what it asks: prompts, barge-in, timers, the hand-over to a
person (with the call data) or a hang-up. After the hand-over the caller's audio keeps
streaming to the speech service (and the agent's, with ``extra.transcribe_agent``); the final
transcript is stored in ``calls.transcript`` when the call ends.

Threads: keys, prompt ends and the end of the call come on the worker's loop, audio on the tap
thread, results on the speech client's thread and timers on their own; one lock per call
serialises them into the interpreter, and every action either posts to the loop, goes to the
background pool (prompt rendering) or to the worker's store thread (the transcript at hang-up,
behind the call's records and retried as they are), so no caller of this module ever waits.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from analytics.runner import analyse_after_hangup
from dsp.clock import CLOCK_RATE
from dsp.speech.client import SpeechClient, SpeechGap, Transcript
from dsp.speech.gate import SpeechGate
from dsp.vad import VoiceActivityDetector
from ivr import listening
from ivr.accounts import AccountMatch
from ivr.events import (
    Action,
    DtmfDigit,
    Event,
    Hangup,
    Listen,
    MoodEstimated,
    PlayPrompt,
    PromptFinished,
    RouteToAgent,
    SpeechEnded,
    SpeechStarted,
    StepEntered,
    StopPrompt,
    Timeout,
)
from ivr.flow import Flow, FlowCache, default_flow
from ivr.interpreter import CallContext, Interpreter
from ivr.prompts import PromptError, prompt_audio
from store.db import Database
from store.flows import flow_for_number
from store.models import Account, Customer, SupportNumber
from store.settings import Settings
from store.tokens import deployment_token
from telephony import cdr, router
from telephony.callflow.base import CallControl, FlowContext
from telephony.callflow.survey import Finish, SurveyCall
from telephony.queue_phrases import QueuePhrases
from telephony.queueing import caller_number
from telephony.tap import IN, TapFrame

log = logging.getLogger("centralino.ivr")


class IvrFlows:
    """The worker's `FlowFactory` for IVR calls, and what those calls share."""

    def __init__(self, settings: Settings, db: Database | None = None, warm: bool = True) -> None:
        self.settings = settings
        self.db = db or Database.from_settings(settings)
        self.flows = FlowCache()
        self.prompt_dir = Path(settings.var_dir) / "prompts"
        self.recordings_dir = Path(settings.var_dir) / "recordings"
        self.transcribe_agent = bool(settings.extra.get("transcribe_agent", False))
        # after the bridge, only voiced audio (padded) goes to the recognizer (docs/speech.md)
        self.gate_transcription = bool(settings.extra.get("gate_transcription", True))
        # every call measured and summarised right after hang-up (docs/analytics.md)
        self.analyse_calls = bool(settings.extra.get("analyse_calls", True))
        self.speech_enabled = bool(settings.extra.get("speech", True))
        self.speech_token = deployment_token(settings) if self.speech_enabled else None
        self.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="ivr-prompts")
        # closing a call waits for its last results: never in the way of a prompt
        self.closing = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="ivr-close")
        self._prepared: set[tuple[str, int, str]] = set()
        if warm:
            listening.warm_up(CLOCK_RATE)  # numba kernels compiled before the first call
            self.pool.submit(self._prepare_support_numbers)

    @classmethod
    def from_settings(cls, settings: Settings) -> IvrFlows:
        return cls(settings)

    def __call__(self, context: FlowContext) -> IvrCall:
        return IvrCall(self, context)

    # --- what calls ask of the deployment ------------------------------------------------------

    def flow_for(self, number: str, locale: str) -> Flow:
        """The latest stored flow of support *number* (parsed once per version), or the default."""
        try:
            stored = flow_for_number(self.db, number)
        except Exception:
            log.exception("cannot read the flow of %s: the default flow answers", number)
            stored = None
        if stored is None:
            return default_flow()
        name, version, document = stored
        flow = self.flows.flow(name, version, document)
        if (name, version) in self.flows.errors:
            log.error(
                "stored flow %s v%d is broken: %s",
                name,
                version,
                self.flows.errors[(name, version)],
            )
        elif (name, version, locale) not in self._prepared:
            self._prepared.add((name, version, locale))
            self.pool.submit(self._render_all, flow, locale)
        return flow

    def lookup(self, digits: str) -> AccountMatch | None:
        """The account with number *digits*, its customer and their preferred agent."""
        with self.db.session() as session:
            account = session.scalar(select(Account).where(Account.number == digits))
            if account is None:
                return None
            customer = account.customer
            return AccountMatch(
                account_id=account.id,
                customer_id=customer.id,
                number=account.number,
                customer_name=customer.name,
                preferred_agent_id=customer.preferred_agent_id,
            )

    def known_caller(self, caller: str, queue: str) -> tuple[AccountMatch | None, int]:
        """The customer whose phone is the caller's number, when exactly one is and the queue
        identifies by caller ID; and how many customers have that number."""
        number = caller_number(caller)
        if not number:
            return None, 0
        with self.db.session() as session:
            if not router.queue_settings(session, queue).identify_by_caller_id:
                return None, 0
            customers = list(session.scalars(select(Customer).where(Customer.phone == number)))
            if len(customers) != 1:
                return None, len(customers)
            customer = customers[0]
            account = min(customer.accounts, key=lambda a: a.id, default=None)
            return (
                AccountMatch(
                    account_id=account.id if account else None,
                    customer_id=customer.id,
                    number=account.number if account else None,
                    customer_name=customer.name,
                    preferred_agent_id=customer.preferred_agent_id,
                ),
                1,
            )

    def speech_url(self, locale: str) -> str | None:
        if not self.speech_enabled:
            return None
        return f"ws://{self.settings.speech_address}:{self.settings.speech_port}/{locale}"

    def prompt_wav(self, flow: Flow, prompt: PlayPrompt) -> Path:
        return prompt_audio(
            prompt.prompt_id,
            prompt.text,
            prompt.locale,
            flow.name,
            self.recordings_dir,
            self.prompt_dir,
            CLOCK_RATE,
            flow.recording(prompt.prompt_id, prompt.locale),
        )

    def background(
        self, job: Callable[[], object], pool: concurrent.futures.Executor | None = None
    ) -> None:
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("IVR background job failed")

        (pool or self.pool).submit(run)

    def store_transcript(
        self,
        call: CallControl,
        call_id: str,
        entries: list[dict[str, Any]],
        gaps: list[dict[str, Any]] | None = None,
    ) -> None:
        """The call's transcript and what of it was never heard (`speech_gaps`), written on the
        worker's store thread behind the call's records (so retried past a long writer or a
        full disk, like them); then its analytics and summary (on the closing pool)."""
        db, unheard = self.db, gaps or []

        def analyse(_: object) -> None:
            if self.analyse_calls:
                self.background(lambda: analyse_after_hangup(db, call_id), self.closing)

        call.store(lambda: cdr.update_call(db, call_id, transcript=entries, speech_gaps=unheard),
                   analyse)

    # --- prompts rendered before they are needed -------------------------------------------------

    def _render_all(self, flow: Flow, locale: str) -> None:
        variables = {"company": self.settings.company_name}
        for prompt_id in flow.prompts:
            text = flow.prompt_text(prompt_id, locale, variables)
            try:
                self.prompt_wav(flow, PlayPrompt(prompt_id, text, locale))
            except (PromptError, OSError) as error:
                log.warning(
                    "prompt %s/%s (%s) not rendered: %s", flow.name, prompt_id, locale, error
                )

    def _prepare_support_numbers(self) -> None:
        with self.db.session() as session:
            query = select(SupportNumber.number, SupportNumber.locale)
            numbers = session.execute(query).tuples().all()
        for number, locale in numbers or [("", "en")]:
            flow = self.flow_for(number, locale) if number else default_flow()
            self._render_all(flow, flow.locale_for(locale))


class IvrCall:
    """One answered call through the IVR (the worker's `CallFlow`)."""

    def __init__(self, flows: IvrFlows, context: FlowContext) -> None:
        self.flows = flows
        self.context = context
        self.flow = flows.flow_for(context.dialled, context.locale)
        self.interpreter = Interpreter(self.flow)
        self.locale = self.flow.locale_for(context.locale)
        self.call: CallControl | None = None
        self.listener: listening.CallerListener | None = None
        self.agent_speech: SpeechClient | None = None
        self.agent_gate: SpeechGate | None = None
        self.agent_voice: VoiceActivityDetector | None = None
        self.transcript: list[dict[str, Any]] = []
        self.speech_gaps: list[dict[str, Any]] = []  # what the recogniser never heard
        self.routed = False
        self.ended = False
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._prompt: str | None = None  # the prompt now playing (or being rendered)
        self._prompt_turn = 0  # bumped by every play and stop: a late render is not played
        self._speech_down = False
        self._audio_origin: float | None = None  # wall clock of the first caller frame
        self._agent_origin: float | None = None  # wall clock of the agent's first frame heard
        self.survey: SurveyCall | None = None  # after the agent hung up (`start_survey`)

    # --- the worker's events -------------------------------------------------------------------

    def queue_phrases(self) -> QueuePhrases:
        """What the caller hears in line: this call's flow version's words (`SaysWaiting`)."""
        return QueuePhrases(self.locale, self.flow, {"company": self.context.company})

    def on_answered(self, call: CallControl) -> None:
        self.call = call
        self.listener = listening.CallerListener(
            self.feed,
            CLOCK_RATE,
            speech_url=self.flows.speech_url(self.locale),
            on_transcript=lambda result: self._recognised("caller", result),
            on_speech_error=self._speech_error,
            speech_token=self.flows.speech_token,
            on_speech_gap=lambda gap: self._unheard("caller", gap),
        )
        try:
            known, matches = self.flows.known_caller(self.context.caller, self.context.queue)
        except Exception:  # the store hiccupped: ask the account, as for any caller
            log.exception("call %s: caller ID lookup failed", self.context.call_id)
            known, matches = None, 0
        context = CallContext(
            call_id=self.context.call_id,
            locale=self.context.locale,
            company=self.context.company,
            queue=self.context.queue,
            caller=self.context.caller,
            lookup=self.flows.lookup,
            known_caller=known,
            caller_id_matches=matches,
        )
        with self._lock:
            self._perform(self.interpreter.start(context))

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        if self.survey is not None:
            self.survey.on_key(digit)
            return
        self.feed(DtmfDigit(digit, method))

    def on_prompt_finished(self, call: CallControl) -> None:
        if self.survey is not None:
            call.publish("ivr.prompt", prompt=self.survey.playing, state="finished")
            self.survey.on_prompt_finished()
            return
        with self._lock:
            prompt, self._prompt = self._prompt, None
            if prompt is not None:
                call.publish("ivr.prompt", prompt=prompt, state="finished")
            self.feed(PromptFinished(prompt))

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        listener = self.listener
        if listener is None or self.ended:
            return
        if frame.direction == IN:
            if self._audio_origin is None:
                self._audio_origin = time.time()
            listener.hear(frame.samples)
        else:
            listener.sent(frame.samples)
            if self.agent_speech is not None and self._agent_origin is None:
                self._agent_origin = time.time()  # the agent stream's own second 0
            if self.agent_gate is not None and self.agent_voice is not None:
                voiced = self.agent_voice.process(np.array(frame.samples, dtype=np.int16))
                self.agent_gate.push(frame.samples, voiced.speech)
            elif self.agent_speech is not None:
                self.agent_speech.feed(frame.samples)

    def start_survey(self, call: CallControl, finish: Finish) -> None:
        """The agent hung up: ask the caller the flow's survey (`telephony.callflow.survey`)."""
        variables = {"company": self.context.company}
        self.survey = SurveyCall(self.flow, self.locale, variables, self._say, finish)
        self.survey.start()

    def _say(self, flow: Flow, prompt: PlayPrompt) -> None:
        call = self.call
        assert call is not None

        def render_then_play() -> None:
            try:
                wav = self.flows.prompt_wav(flow, prompt)
            except (PromptError, OSError) as error:
                log.error("call %s: prompt %s: %s", self.context.call_id, prompt.prompt_id, error)
                self.on_prompt_finished(call)
                return
            call.play(wav)
            call.publish("ivr.prompt", prompt=prompt.prompt_id, state="playing")

        self.flows.background(render_then_play)

    def on_ended(self, call: CallControl, reason: str) -> None:
        if self.survey is not None:
            self.survey.caller_gone()
        with self._lock:
            self.ended = True
            if self._timer is not None:
                self._timer.cancel()
        listener, agent = self.listener, self.agent_speech

        def finish() -> None:  # the last final results arrive while the streams close
            if listener is not None:
                listener.close()
            if agent is not None:
                agent.close(5.0)
            self.flows.store_transcript(
                call, self.context.call_id, list(self.transcript), list(self.speech_gaps))

        self.flows.background(finish, self.flows.closing)

    # --- events into the interpreter, actions out -----------------------------------------------

    def feed(self, event: Event) -> None:
        """Any thread: one event through the interpreter, then its actions."""
        call = self.call
        with self._lock:
            if self.ended or call is None:
                return
            if isinstance(event, SpeechStarted | SpeechEnded):
                state = "started" if isinstance(event, SpeechStarted) else "ended"
                listener = self.listener
                levels: dict[str, Any] = {}
                if listener is not None:  # how loud the caller was against what we played
                    levels = {
                        "level_dbfs": round(listener.level_dbfs, 1),
                        "played_dbfs": round(listener.played_dbfs, 1),
                        "echo_delay_ms": round(listener.echo.delay_ms),
                    }
                if isinstance(event, SpeechEnded) and event.utterance is not None:
                    levels["utterance"] = {  # the floor's watch compares it with the first
                        key: round(float(value), 3) for key, value in event.utterance.items()
                    }
                call.publish("ivr.voice", state=state, **levels)
            elif isinstance(event, DtmfDigit) and event.method == "inband":
                call.publish("dtmf", digit=event.digit, method="inband", role="customer")
            self._perform(self.interpreter.on_event(event))

    def _perform(self, actions: list[Action]) -> None:
        call = self.call
        assert call is not None
        for action in actions:
            if isinstance(action, PlayPrompt):
                self._play(call, action)
            elif isinstance(action, StopPrompt):
                self._stop(call)
            elif isinstance(action, Listen):
                self._listen(action)
            elif isinstance(action, StepEntered):
                call.publish("ivr.step", step=action.step_id, step_kind=action.kind)
            elif isinstance(action, MoodEstimated):
                call.publish("mood", **dict(action.mood))
            elif isinstance(action, RouteToAgent):
                self._route(call, action)
            elif isinstance(action, Hangup):
                call.hang_up(action.reason)

    def _play(self, call: CallControl, prompt: PlayPrompt) -> None:
        self._prompt_turn += 1
        turn = self._prompt_turn
        self._prompt = prompt.prompt_id

        def render_then_play() -> None:
            try:
                wav = self.flows.prompt_wav(self.flow, prompt)
            except (PromptError, OSError) as error:
                log.error("call %s: prompt %s: %s", self.context.call_id, prompt.prompt_id, error)
                self.on_prompt_finished(call)  # an unplayable prompt counts as heard
                return
            with self._lock:
                if turn == self._prompt_turn and not self.ended:
                    call.play(wav)
                    call.publish("ivr.prompt", prompt=prompt.prompt_id, state="playing")

        self.flows.background(render_then_play)

    def _stop(self, call: CallControl) -> None:
        self._prompt_turn += 1
        prompt, self._prompt = self._prompt, None
        call.stop_prompt()
        call.publish("ivr.prompt", prompt=prompt, state="stopped")

    def _listen(self, listen: Listen) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(listen.timeout, self.feed, (Timeout(listen.timer),))
        self._timer.daemon = True
        self._timer.start()

    def _route(self, call: CallControl, route: RouteToAgent) -> None:
        if self._timer is not None:
            self._timer.cancel()
        data = dict(route.call_data)
        data["queue"] = route.queue
        call.call_data.update(data)  # before the hand-over: the loop reads it at agent.ringing
        preferred = data.get("preferred_agent_id")
        call.route_to_agent(
            skill=route.skills[0] if route.skills else None,
            preferred=[preferred] if preferred else None,
            customer_id=data.get("customer_id"),
        )
        self.routed = True
        if self.flows.gate_transcription and self.listener is not None:
            self.listener.gate_speech()
        if self.flows.transcribe_agent and (url := self.flows.speech_url(self.locale)):
            self.agent_speech = SpeechClient(
                url,
                sample_rate=CLOCK_RATE,
                on_result=lambda result: self._recognised("agent", result),
                on_error=self._speech_error,
                on_gap=lambda gap: self._unheard("agent", gap),
                name="speech-agent",
                token=self.flows.speech_token,
            ).start()
            if self.flows.gate_transcription:
                self.agent_voice = VoiceActivityDetector(CLOCK_RATE)
                self.agent_gate = SpeechGate(self.agent_speech)

    # --- recognition --------------------------------------------------------------------------

    def _recognised(self, speaker: str, result: Transcript) -> None:
        call = self.call
        if call is None or not result.text:
            return
        # each side's recogniser counts seconds of its own stream: place both on the wall clock
        own = self._agent_origin if speaker == "agent" else self._audio_origin
        origin = own or time.time()
        start = result.start if result.start is not None else result.audio_end
        entry = {
            "speaker": speaker,
            "text": result.text,
            "start": round(start, 2),
            "end": round(result.end if result.end is not None else result.audio_end, 2),
            "spoken_at": round(origin + start, 3),
        }
        if result.final:
            self.transcript.append(entry)
            if self.survey is not None and speaker == "caller":
                self.survey.on_words(result.text)
        lag = {} if result.lag_ms is None else {"lag_ms": result.lag_ms}  # shown, not stored
        call.publish("transcript.final" if result.final else "transcript.partial", **entry, **lag)

    def _unheard(self, speaker: str, gap: SpeechGap) -> None:
        """A stretch of *speaker*'s audio the recogniser never got (the service was down, or
        the client's queue overflowed): kept with the call and shown live, so a transcript
        that resumes after a restart says where its hole is."""
        own = self._agent_origin if speaker == "agent" else self._audio_origin
        entry = {
            "speaker": speaker,
            "start": round(gap.start, 2),
            "spoken_at": round((own or time.time()) + gap.start, 3),
            "duration_ms": round(gap.duration_ms),
            "reason": gap.reason,
        }
        self.speech_gaps.append(entry)
        if self.call is not None:
            self.call.publish("transcript.gap", **entry)

    def _speech_error(self, text: str) -> None:
        """One line per call, however often the speech client fails (it backs off, and stops
        for good when the service has no model for the locale)."""
        if not self._speech_down:
            self._speech_down = True
            if "no model for locale" in text:
                text += f"; add it with `centralino models install {self.locale}`"
            log.warning(
                "call %s: %s; the IVR goes on with keys (DTMF) only", self.context.call_id, text
            )
