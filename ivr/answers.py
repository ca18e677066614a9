"""What the caller's answers mean: recorded answers and mood, account identification, menu
choices and the words that ask for a person.

`Answering` is a mixin of `ivr.interpreter.Interpreter`: it owns the call data that an answer
fills in, and leaves turns, prompts, retries and routing to the interpreter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivr.accounts import AccountMatch, luhn_valid
from ivr.events import Action, Event, MoodEstimated
from ivr.flow import Flow
from ivr.mood import estimate_mood
from ivr.steps import IdentifyStep, MenuStep, Step

if TYPE_CHECKING:
    from ivr.interpreter import CallContext

#: Words that ask for a person, per locale (flows may add more); Korean matches inside words.
OPERATOR_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("agent", "operator", "person", "representative", "human"),
    "it": ("operatore", "operatrice", "persona"),
    "ko": ("상담원", "상담사"),
}
_INSIDE_WORDS = frozenset({"ko"})

#: How the caller was identified, in the screen pop's words (how sure the agent may be).
CALLER_ID, ACCOUNT_KEYED, ACCOUNT_SPOKEN = "caller ID", "account keyed", "account spoken"
#: Said before the first prompt to a caller known by caller ID ({name}: the customer's name).
KNOWN_GREETING = {
    "en": "{name}, welcome back.",
    "it": "{name}, bentornato.",
    "ko": "{name}님, 반갑습니다.",
}


class Answering:
    """The answer handling of `Interpreter`, which provides the state and the steps below."""

    flow: Flow
    context: CallContext
    locale: str
    step: Step
    keys: str
    prosody: Mapping[str, float] | None
    mood_wants_prosody: bool
    call_data: dict[str, Any]
    _out: list[Action]

    def _advance(self, carry: Event | None = None, to: str | None = None) -> None:
        raise NotImplementedError

    def _route(self, reason: str) -> None:
        raise NotImplementedError

    def _fail(self, reason: str) -> None:
        raise NotImplementedError

    def _record_answer(self, text: str) -> None:
        self.call_data["answers"][self.step.id] = text
        if self.call_data["greeting_transcript"] or not text:
            return
        self.call_data["greeting_transcript"] = text
        self.mood_wants_prosody = self.prosody is None
        self._estimate_mood(text)

    def _estimate_mood(self, text: str) -> None:
        mood = estimate_mood(text, self.locale, self.prosody)
        self.call_data["mood"], self.call_data["mood_score"] = mood.label, round(mood.score, 3)
        self.call_data["mood_detail"] = mood.as_dict()
        self._out.append(MoodEstimated(mood.as_dict()))

    def _identify_digits(self, step: IdentifyStep, digits: str, keyed: str) -> None:
        self.keys = ""
        if keyed == self.flow.operator_key:  # the operator key alone, not a spoken "zero"
            self._route("operator")
            return
        self.call_data["answers"][step.id] = digits
        if not step.min_digits <= len(digits) <= step.max_digits or (
            step.checksum == "luhn" and not luhn_valid(digits)
        ):
            self._fail("invalid_account")
            return
        try:
            match = self.context.lookup(digits)
        except Exception as error:  # a failing lookup must not drop the caller
            self.call_data["lookup_error"] = f"{type(error).__name__}: {error}"
            match = None
        if match is None:
            self._fail("unknown_account")
            return
        self._identified(match, ACCOUNT_KEYED if keyed else ACCOUNT_SPOKEN)
        self._advance()

    def _identified(self, match: AccountMatch, by: str) -> None:
        self.call_data |= {
            "identified": True,
            "identified_by": by,
            "account_number": match.number,
            "account_id": match.account_id,
            "customer_id": match.customer_id,
            "customer_name": match.customer_name,
            "preferred_agent_id": match.preferred_agent_id,
        }

    def _choose(self, step: MenuStep, picks: Callable[[Any], bool]) -> None:
        for option in step.options:
            if picks(option):
                self.call_data["answers"][step.id] = option.key
                self._advance(to=option.next)
                return
        self._fail("no_match")

    # --- words -----------------------------------------------------------------------------------

    def _asks_for_person(self, text: str) -> bool:
        words = OPERATOR_WORDS.get(self.locale, ()) + self.flow.operator_words.get(self.locale, ())
        return self._says_any(text, {self.locale: words})

    def _says_any(self, text: str, words: Mapping[str, tuple[str, ...]]) -> bool:
        lowered = text.lower()
        for word in words.get(self.locale, ()):
            if self.locale in _INSIDE_WORDS:
                if word in lowered:
                    return True
            elif re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered):
                return True
        return False
