"""The post-call survey on the worker: plays `ivr.survey`'s questions to the caller left on the
line after the agent hung up, hears keys and final transcripts, and stores the answers.

The IVR call (`telephony.callflow.ivr.IvrCall`) owns one `SurveyCall` once the survey starts
and hands it every key, final transcript and prompt end; a timer skips an unanswered question.
At the thanks' end (or when the caller hangs up first) the answers go to the store and the
conversation ends. A survey prompt the call's flow version leaves out is the default flow's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from ivr.events import PlayPrompt
from ivr.flow import Flow, default_flow
from ivr.survey import ANSWER_SECONDS, THANKS, SurveyAnswers, SurveyRun
from store.models import utcnow
from telephony.callflow.base import CallControl

log = logging.getLogger("centralino.survey")

Play = Callable[[Flow, PlayPrompt], None]
Finish = Callable[[SurveyAnswers, datetime, datetime | None], None]


class SurveyCall:
    """One caller's survey on the line: what is asked now, its timer, and the answers."""

    def __init__(
        self, flow: Flow, locale: str, variables: dict[str, str], play: Play, finish: Finish
    ) -> None:
        self.flow = flow
        self.locale = locale
        self.variables = variables
        self.run = SurveyRun(locale)
        self._play = play
        self._finish = finish
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._playing: str | None = None
        self.asked_at = utcnow()
        self.answered_at: datetime | None = None
        self.done = False

    @property
    def playing(self) -> str | None:
        """The survey prompt now playing (None while the caller's time runs)."""
        return self._playing

    def start(self) -> None:
        with self._lock:
            self._ask(self.run.start())

    def on_key(self, digit: str) -> None:
        with self._lock:
            self._then(self.run.on_key(digit))

    def on_words(self, text: str) -> None:
        with self._lock:
            self._then(self.run.on_words(text))

    def on_prompt_finished(self) -> None:
        """A prompt ended: after a question the caller's time starts, after the thanks it ends."""
        with self._lock:
            prompt, self._playing = self._playing, None
            if prompt == THANKS:
                self.run.thanked()
                self._close()
            elif prompt is not None and prompt == self.run.asking:
                self._arm()

    def caller_gone(self) -> None:
        """The caller hung up mid-survey: keep what they answered."""
        with self._lock:
            self._close()

    def _then(self, prompt: str | None) -> None:
        if prompt is None or self.done:
            return
        self.answered_at = utcnow()
        self._ask(prompt)

    def _ask(self, prompt: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._playing = prompt
        flow = self.flow if self.locale in self.flow.prompts.get(prompt, {}) else default_flow()
        locale = flow.locale_for(self.locale)
        text = flow.prompt_text(prompt, locale, self.variables)
        self._play(flow, PlayPrompt(prompt, text, locale, barge_in=True))

    def _arm(self) -> None:
        self._timer = threading.Timer(ANSWER_SECONDS, self._timed_out)
        self._timer.daemon = True
        self._timer.start()

    def _timed_out(self) -> None:
        with self._lock:
            if not self.done and self._playing is None:
                self._ask(self.run.on_timeout())

    def _close(self) -> None:
        if self.done:
            return
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
        self._finish(self.run.answers, self.asked_at, self.answered_at)


@runtime_checkable
class RunsSurvey(Protocol):
    """A flow that can survey its caller after the agent hung up (the IVR)."""

    def start_survey(self, call: CallControl, finish: Finish) -> None: ...
