"""Callers known by caller ID are greeted by name and not asked for their account; the call
data says how every caller was identified (caller ID, account keyed, account spoken)."""

from __future__ import annotations

from ivr.accounts import AccountMatch
from ivr.events import PlayPrompt, StepEntered
from ivr.flow import default_flow
from ivr.interpreter import ACCOUNT_KEYED, ACCOUNT_SPOKEN, CALLER_ID, CallContext
from ivr.rehearsal import ScriptedCaller

ADA = AccountMatch(account_id=7, customer_id=3, number="12345678", customer_name="Ada Rossi")


def caller(known: AccountMatch | None = None, matches: int = 0) -> ScriptedCaller:
    accounts = {ADA.number: ADA}
    context = CallContext(
        "call-1",
        "en",
        "ACME",
        "support",
        "sip:555@x",
        accounts.get,
        known_caller=known,
        caller_id_matches=matches,
    )
    return ScriptedCaller(default_flow(), context)


def test_a_caller_known_by_caller_id_is_greeted_by_name_and_not_asked_the_account() -> None:
    call = caller(ADA, 1)
    assert call.actions == [
        StepEntered("greeting", "question"),
        PlayPrompt(
            "greeting",
            "Ada Rossi, welcome back. Hello, thank you for calling ACME. How are you today?",
            "en",
            True,
        ),
    ]
    call.finish_prompt()
    call.say("I'm fine, thanks")  # still asked how they are
    call.finish_prompt()
    route = call.route()
    data = route.call_data
    assert "identify" not in call.prompts()
    assert data["steps"] == ["greeting", "acknowledge", "route"]
    assert data["skipped_steps"] == ["identify"]
    assert data["greeting_transcript"] == "I'm fine, thanks"
    assert (data["identified"], data["identified_by"], data["customer_id"]) == (
        True,
        CALLER_ID,
        3,
    )
    assert data["account_number"] == "12345678"


def test_a_caller_id_shared_by_several_customers_is_asked_for_the_account() -> None:
    call = caller(None, 2)
    assert "Ada" not in call.actions[1].text
    call.finish_prompt()
    call.say("fine")
    call.finish_prompt()
    assert call.prompts()[-1] == "identify"
    call.finish_prompt()
    call.keys("12345678#")
    data = call.route().call_data
    assert (data["identified_by"], data["caller_id_matches"]) == (ACCOUNT_KEYED, 2)


def test_an_account_spoken_says_so() -> None:
    call = caller()
    call.finish_prompt()
    call.say("fine")
    call.finish_prompt()
    call.finish_prompt()
    call.say("one two three four five six seven eight")
    data = call.route().call_data
    assert (data["identified"], data["identified_by"]) == (True, ACCOUNT_SPOKEN)


def test_an_unknown_caller_is_not_identified() -> None:
    call = caller()
    call.finish_prompt()
    call.say("fine")
    call.finish_prompt()
    call.finish_prompt()
    call.keys("0")
    call.timeout()  # inter-digit timeout: the operator key alone
    data = call.route().call_data
    assert (data["identified"], data["identified_by"]) == (False, None)
