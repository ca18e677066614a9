"""All our lines are busy: the short message a caller hears when every worker is full.

When every switch worker has answered an INVITE "full" (503, or pjsua's own 486), the edge tries
once more with ``X-Centralino-Overflow: busy`` (`telephony/kamailio.cfg.tmpl`,
``SWITCHFAILED``); a worker with no room for a call but its spare pjsua slot still free
answers that one with this flow instead of a SIP error: the message in the support number's
language, then a hang-up. The CDR ends with outcome ``all lines busy``, so turned-away callers
are counted. `prepare` renders the messages when a worker starts, so the caller hears it at once.
"""

from __future__ import annotations

from pathlib import Path

from ivr.prompts import render_prompt
from telephony.callflow.base import CallControl, CallFlow, FlowContext
from telephony.tap import TapFrame

OVERFLOW_HEADER = "X-Centralino-Overflow"
REASON = "all lines busy"

#: The message by locale; a locale without one hears English.
MESSAGES: dict[str, str] = {
    "en": "Thank you for calling {company}. All our lines are busy right now. "
    "Please call again in a few minutes.",
    "it": "Grazie per aver chiamato {company}. Tutte le nostre linee sono occupate. "
    "Vi preghiamo di richiamare tra qualche minuto.",
    "ko": "{company}에 전화해 주셔서 감사합니다. 지금은 모든 회선이 통화 중입니다. "
    "잠시 후에 다시 걸어 주세요.",
}


def message(locale: str, company: str) -> tuple[str, str]:
    """The words and the voice of the message for *locale*."""
    voice = locale if locale in MESSAGES else "en"
    return MESSAGES[voice].format(company=company), voice


def prepare(company: str, prompt_dir: Path) -> list[Path]:
    """Render every locale's message into the prompt cache (a worker does it at start)."""
    return [render_prompt(*message(locale, company), prompt_dir) for locale in MESSAGES]


def has_overflow_hint(message_text: str) -> bool:
    """Whether an INVITE (its whole text) carries the edge's overflow header."""
    head = message_text.split("\r\n\r\n", 1)[0].lower()
    return f"\r\n{OVERFLOW_HEADER.lower()}:" in head


class AllLinesBusy:
    """Say the message, then hang up; keys and audio are ignored."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context

    def on_answered(self, call: CallControl) -> None:
        call.publish("ivr.step", step="all lines busy")
        text, voice = message(self.context.locale, self.context.company)
        call.play(render_prompt(text, voice, self.context.prompt_dir))

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        pass

    def on_prompt_finished(self, call: CallControl) -> None:
        call.hang_up(REASON)

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        pass

    def on_ended(self, call: CallControl, reason: str) -> None:
        pass


def all_lines_busy(context: FlowContext) -> CallFlow:
    return AllLinesBusy(context)
