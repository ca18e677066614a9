"""A stand-in call flow for routing tests: the caller keys an account number, ending with #.

It plays no prompts: it fills ``call_data`` the way the IVR does (account, customer, greeting
transcript, mood) and routes with the customer's id, so routing and the screen pop can be
tested through a real worker before (or apart from) the IVR interpreter. Select it with
``[extra] flow = "tests.harness.flows:keyed_account"``; it finds the database through
``CENTRALINO_DATABASE_URL``.
"""

from __future__ import annotations

import functools
import os

from sqlalchemy import select

from store.db import Database
from store.models import Account
from telephony.callflow.base import CallControl, CallFlow, FlowContext
from telephony.tap import TapFrame

GREETING_ANSWER = "fine thanks, but my line keeps dropping"


@functools.cache
def _database() -> Database:
    return Database(os.environ["CENTRALINO_DATABASE_URL"])


def customer_of(account_number: str) -> int | None:
    with _database().session() as session:
        return session.scalar(select(Account.customer_id).where(Account.number == account_number))


class KeyedAccount:
    """Collect DTMF digits up to ``#``, identify the customer, route (``0``: route unknown)."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context
        self.digits = ""
        self.routed = False

    def on_answered(self, call: CallControl) -> None:
        call.call_data.update(greeting_transcript=GREETING_ANSWER, mood="negative")
        call.publish("ivr.step", step="account")

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        if self.routed:
            return
        if digit == "0" and not self.digits:
            self._route(call, None)
        elif digit == "#":
            customer_id = customer_of(self.digits)
            call.call_data["account_number"] = self.digits
            if customer_id is None:
                call.call_data["identify_failure"] = "unknown account"
            self._route(call, customer_id)
        else:
            self.digits += digit

    def _route(self, call: CallControl, customer_id: int | None) -> None:
        self.routed = True
        call.publish("ivr.step", step="route", customer_id=customer_id)
        call.route_to_agent(customer_id=customer_id)

    def on_prompt_finished(self, call: CallControl) -> None:
        pass

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        pass

    def on_ended(self, call: CallControl, reason: str) -> None:
        pass


def keyed_account(context: FlowContext) -> CallFlow:
    return KeyedAccount(context)
