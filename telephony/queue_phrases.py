"""What a caller hears while waiting in line, in words: prompts of the call's flow document.

The prompts are `ivr.flow_schema.QUEUE_PROMPTS`: the place in line followed by the callback
offer, and after key 1 the callback's goodbye. They come from the flow version the call runs;
a flow that leaves one out (and every call without a flow document) gets the default flow's
text (`ivr/default_flow.yaml`), in the caller's locale when it has one, else English. Music
has no words: it is `telephony.queueing.music_wav`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.flow import Flow, default_flow

POSITION, CALLBACK_OFFER, CALLBACK_CONFIRMED = (
    "queue_position",
    "queue_callback_offer",
    "queue_callback_confirmed",
)


def _position_text(flow: Flow, locale: str, offer_callback: bool = True) -> str | None:
    position, offer = flow.prompts.get(POSITION, {}), flow.prompts.get(CALLBACK_OFFER, {})
    if locale not in position or (offer_callback and locale not in offer):
        return None
    return f"{position[locale]} {offer[locale]}" if offer_callback else position[locale]


def _texts(flow: Flow, prompt_id: str) -> dict[str, str]:
    return dict(flow.prompts.get(prompt_id, {}))


_DEFAULT = default_flow()
#: The default flow's waiting texts per locale (``{position}``: the place in line).
POSITION_TEXTS = {
    locale: text
    for locale in _DEFAULT.locales
    if (text := _position_text(_DEFAULT, locale)) is not None
}
CALLBACK_TEXTS = _texts(_DEFAULT, CALLBACK_CONFIRMED)
POSITION_TEXT = POSITION_TEXTS["en"]
#: The same without the callback offer, for a queue that offers none.
PLAIN_POSITION_TEXTS = {
    locale: text
    for locale in _DEFAULT.locales
    if (text := _position_text(_DEFAULT, locale, offer_callback=False)) is not None
}


def phrase(texts: Mapping[str, str], locale: str) -> tuple[str, str]:
    """The text for *locale* and the locale it is in (English when there is none)."""
    return (texts[locale], locale) if locale in texts else (texts["en"], "en")


@dataclass(frozen=True)
class QueuePhrases:
    """The waiting texts of one call: its flow's where it has them, else the default flow's."""

    locale: str
    flow: Flow | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    def position(self, place: int, offer_callback: bool = True) -> tuple[str, str]:
        """What the caller hears at *place* in line (with the callback offer when the queue
        makes one), and the voice (locale) to say it in."""
        own = (_position_text(self.flow, self.locale, offer_callback)
               if self.flow is not None else None)
        texts = POSITION_TEXTS if offer_callback else PLAIN_POSITION_TEXTS
        text, voice = (own, self.locale) if own is not None else phrase(texts, self.locale)
        return self._fill(text, position=str(place)), voice

    def callback_confirmed(self) -> tuple[str, str]:
        """The goodbye after the caller asked to be called back."""
        own = _texts(self.flow, CALLBACK_CONFIRMED) if self.flow is not None else {}
        text, voice = (own[self.locale], self.locale) if self.locale in own else phrase(
            CALLBACK_TEXTS, self.locale
        )
        return self._fill(text), voice

    def _fill(self, text: str, **values: str) -> str:
        known = {**(self.flow.variables if self.flow else {}), **self.variables, **values}
        return text.format_map(_Known(known))


class _Known(dict[str, str]):
    """A placeholder without a value reads as empty rather than failing a live call."""

    def __missing__(self, key: str) -> str:
        return ""
