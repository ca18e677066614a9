"""The flat flow interpreter: the paths of a call, barge-in, escapes, and that nothing loops."""

from __future__ import annotations

import copy
import json

import pytest

from ivr.accounts import AccountMatch
from ivr.events import (
    DtmfDigit,
    Event,
    Hangup,
    Listen,
    MoodEstimated,
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
from ivr.flow import default_flow, flow_from_dict, load_flow
from ivr.interpreter import MAX_PROMPTS, CallContext, Phase
from ivr.rehearsal import ScriptedCaller

ADA = AccountMatch(account_id=7, customer_id=3, number="12345678", customer_name="Ada")


class Caller(ScriptedCaller):
    """A scripted caller whose account lookup knows Ada and remembers what it was asked."""

    def __init__(self, flow=None, locale: str = "en", lookup=None) -> None:
        self.lookups: list[str] = []
        accounts = {ADA.number: ADA, "1234": ADA}

        def find(digits: str) -> AccountMatch | None:
            self.lookups.append(digits)
            return accounts.get(digits)

        context = CallContext("call-1", locale, "ACME", "support", "sip:555@x", lookup or find)
        super().__init__(flow or default_flow(), context)


def test_greeting_then_identify_then_route() -> None:
    caller = Caller()
    assert caller.actions == [
        StepEntered("greeting", "question"),
        PlayPrompt("greeting", "Hello, thank you for calling ACME. How are you today?", "en", True),
    ]
    assert caller.finish_prompt() == [Listen(6.0, 1)]
    caller.say("I'm fine, thanks")
    assert caller.prompts()[-1] == "ack_calm"
    caller.finish_prompt()
    assert caller.prompts()[-1] == "identify"
    caller.finish_prompt()
    caller.keys("12345678#")
    route = caller.route()
    assert route.queue == "support"
    assert route.reason == "flow"
    data = route.call_data
    assert data["greeting_transcript"] == "I'm fine, thanks"
    assert (data["mood"], data["mood_score"]) == ("calm", 0.8)
    assert (data["customer_id"], data["account_id"], data["identified"]) == (3, 7, True)
    assert data["account_number"] == "12345678"
    assert data["steps"] == ["greeting", "acknowledge", "identify", "route"]
    assert caller.prompts()[-1] == "connecting"
    assert json.loads(json.dumps(data)) == data  # plain data for events and the database
    assert caller.ivr.finished
    assert caller.send(SpeechStarted(), DtmfDigit("5"), Timeout(99)) == []


def test_zero_at_the_greeting_reaches_a_person_without_identify() -> None:
    caller = Caller()
    actions = caller.keys("0")
    assert isinstance(actions[0], StopPrompt)
    route = caller.route()
    assert route.reason == "operator"
    assert "identify" not in route.call_data["steps"]
    assert route.call_data["identified"] is False


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "can I speak to an agent please"),
        ("en", "Operator!"),
        ("it", "vorrei parlare con un operatore"),
        ("it", "una persona, per favore"),
        ("ko", "상담원 연결해 주세요"),
        ("ko", "상담사요"),
    ],
)
def test_asking_for_a_person_works_at_any_step(locale: str, text: str) -> None:
    caller = Caller(locale=locale)
    caller.finish_prompt()
    caller.say("good")
    caller.finish_prompt()  # acknowledgement
    assert caller.ivr.step.id == "identify"
    caller.say(text)
    assert caller.route().reason == "operator"
    assert caller.lookups == []


def test_agent_word_inside_another_word_does_not_count() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("I'm fine, just checking the agenda")
    assert not any(isinstance(a, RouteToAgent) for a in caller.actions)


def test_unknown_account_gets_one_retry_then_goes_on_unidentified() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("okay")
    caller.finish_prompt()
    caller.finish_prompt()
    caller.keys("99999#")
    assert caller.prompts()[-1] == "identify_retry"
    caller.finish_prompt()
    caller.keys("88888#")
    route = caller.route()
    assert caller.lookups == ["99999", "88888"]
    assert route.reason == "flow"
    assert route.call_data["identified"] is False
    assert route.call_data["identify_failure"] == "unknown_account"
    assert route.call_data["customer_id"] is None
    assert route.call_data["steps"] == ["greeting", "acknowledge", "identify", "route"]


def test_silence_at_the_greeting_goes_to_a_person() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.timeout()
    route = caller.route()
    assert route.reason == "no_input"
    assert route.call_data["greeting_transcript"] == ""


def test_unrecognised_greeting_goes_on_to_identify() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.send(SpeechStarted(), SpeechEnded(), SpeechRecognised(""))
    assert caller.ivr.step.id == "acknowledge"
    assert caller.prompts()[-1] == "ack_neutral"
    assert caller.ivr.call_data["greeting_transcript"] == ""


def test_spoken_zero_at_identify_is_not_the_operator() -> None:
    caller = Caller()
    caller.keys("1234#")  # typed over the greeting: identified
    assert caller.route().reason == "flow"
    other = Caller()
    other.finish_prompt()
    other.say("fine")
    other.finish_prompt()
    other.finish_prompt()
    other.say("zero")
    assert other.prompts()[-1] == "identify_retry"


def test_silence_at_identify_retries_once_then_a_person() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    caller.finish_prompt()
    caller.timeout()
    assert caller.prompts()[-1] == "identify_retry"
    caller.finish_prompt()
    caller.timeout()
    assert caller.route().reason == "no_input"


def test_barge_in_stops_the_prompt_and_keeps_what_was_said() -> None:
    caller = Caller()
    assert caller.send(SpeechStarted()) == [StopPrompt(), Listen(15.0, 1)]
    assert caller.ivr.phase is Phase.SPEAKING
    caller.send(SpeechRecognised("I'm really angry", final=False))
    caller.send(SpeechEnded(), SpeechRecognised("I'm really angry, my line is broken"))
    assert caller.ivr.call_data["greeting_transcript"] == "I'm really angry, my line is broken"
    assert caller.ivr.call_data["mood"] == "upset"
    assert caller.prompts()[-1] == "ack_upset"


def test_barge_in_over_the_identify_prompt_answers_it() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    actions = caller.say("one two three four")
    assert actions[0] == StopPrompt()
    assert caller.lookups == ["1234"]
    assert caller.route().call_data["customer_id"] == 3


def test_talking_over_the_acknowledgement_goes_to_identify_without_its_prompt() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("good")
    assert caller.prompts()[-1] == "ack_calm"
    actions = caller.say("one two three four")
    assert actions[0] == StopPrompt()
    assert "identify" not in caller.prompts()
    assert caller.route().call_data["identified"] is True


def test_unusable_speech_over_a_prompt_gets_the_prompt_not_a_retry() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("good")
    caller.say("and also the weather is nice")  # over the acknowledgement
    assert caller.prompts()[-1] == "identify"
    assert caller.ivr.attempts == 0


def test_transcript_during_a_prompt_without_voice_is_ignored() -> None:
    caller = Caller()
    assert caller.send(SpeechRecognised("thank you for calling")) == []
    assert caller.ivr.phase is Phase.PROMPTING


def test_a_transcript_after_the_prompt_without_voice_is_no_answer() -> None:
    """The recogniser's final for the greeting's echo arrives after the greeting ended (the
    voice detector heard no one): it is not the caller's answer, and silence still gets a
    person. Through a lossy, jittery line with a -8 dB handset echo it used to be taken for
    one ("A [9] 백 [10]") and the call went on to identify."""
    caller = Caller()
    caller.finish_prompt()
    assert caller.send(SpeechRecognised("thank you for calling")) == []
    assert caller.ivr.phase is Phase.WAITING
    caller.timeout()
    route = caller.route()
    assert route.reason == "no_input" and route.call_data["greeting_transcript"] == ""


def test_keys_during_the_greeting_are_kept_for_identify() -> None:
    caller = Caller()
    caller.keys("1234")
    assert caller.ivr.step.id == "identify"
    assert "identify" not in caller.prompts()
    caller.keys("#")
    assert caller.route().call_data["account_id"] == 7
    assert caller.route().call_data["answers"]["greeting"] == ""


def test_zero_inside_an_account_number_is_a_digit() -> None:
    caller = Caller(lookup=lambda digits: ADA if digits == "10203040" else None)
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    caller.finish_prompt()
    caller.keys("10203040#")
    assert caller.route().reason == "flow"
    assert caller.route().call_data["identified"] is True


def test_zero_alone_at_identify_reaches_a_person() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    caller.finish_prompt()
    caller.keys("0")
    caller.timeout()  # inter-digit timeout
    assert caller.route().reason == "operator"


def test_keys_end_after_the_inter_digit_timeout() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    caller.finish_prompt()
    actions = caller.keys("1234")
    assert actions[-1] == Listen(3.0, caller.ivr.timer)
    caller.timeout()
    assert caller.lookups == ["1234"]


def test_too_short_number_counts_as_a_failure_without_lookup() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("fine")
    caller.finish_prompt()
    caller.finish_prompt()
    caller.keys("12#")
    assert caller.lookups == []
    assert caller.prompts()[-1] == "identify_retry"


def test_stale_timer_and_stale_prompt_reports_are_ignored() -> None:
    caller = Caller()
    assert caller.send(PromptFinished("identify")) == []
    caller.finish_prompt()
    old = caller.ivr.timer
    caller.send(SpeechStarted())
    assert caller.send(Timeout(old)) == []
    assert caller.ivr.phase is Phase.SPEAKING


def test_last_partial_stands_in_when_no_final_result_arrives() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.send(SpeechStarted(), SpeechRecognised("not great", final=False), SpeechEnded())
    caller.timeout()
    assert caller.ivr.call_data["greeting_transcript"] == "not great"
    assert caller.ivr.call_data["mood"] == "upset"


def test_raised_voice_makes_a_neutral_answer_upset() -> None:
    caller = Caller()
    caller.finish_prompt()
    caller.say("I am calling about my bill", pitch_semitones=4.0, level_db=7.0)
    assert caller.ivr.call_data["mood"] == "upset"
    assert caller.prompts()[-1] == "ack_upset"
    (mood,) = [a for a in caller.actions if isinstance(a, MoodEstimated)]
    assert mood.mood["arousal"] == 1.0


def test_finals_during_the_turn_are_answered_at_its_end_with_its_prosody() -> None:
    caller = Caller()
    caller.finish_prompt()
    # the recognizer finishes at each pause (the listener ends its utterance there)
    finals = SpeechRecognised("I am calling"), SpeechRecognised("about my bill")
    caller.send(SpeechStarted(), *finals)
    assert not [a for a in caller.actions if isinstance(a, MoodEstimated)]  # the turn goes on
    caller.send(SpeechEnded({"pitch_semitones": 4.0, "level_db": 7.0}))
    assert caller.ivr.call_data["mood"] == "upset"
    assert caller.ivr.call_data["answers"]["greeting"] == "I am calling about my bill"
    assert len([a for a in caller.actions if isinstance(a, MoodEstimated)]) == 1


def test_locale_picks_the_prompts_and_falls_back_to_the_first() -> None:
    italian = Caller(locale="it")
    assert italian.actions[-1].text.startswith("Buongiorno, grazie per aver chiamato ACME")
    assert Caller(locale="fr").ivr.locale == "en"
    korean = Caller(locale="ko")
    korean.finish_prompt()
    korean.say("너무 좋아요")
    korean.finish_prompt()
    korean.finish_prompt()
    korean.say("일이삼사입니다")
    assert korean.route().call_data["mood"] == "calm"
    assert korean.lookups == ["1234"]


def test_an_edited_flow_is_used_by_the_next_call() -> None:
    document = dict(default_flow().document)
    document["steps"] = [
        {**step, "enabled": True} if step["id"] == "outage" else step for step in document["steps"]
    ]
    edited = flow_from_dict(document)
    current, following = Caller(), Caller(flow=edited)
    for caller in (current, following):
        caller.keys("12345678#")
        if caller.ivr.playing == "outage_notice":
            caller.finish_prompt()
    assert "outage_notice" not in current.prompts()
    assert "outage_notice" in following.prompts()


MENU = """\
name: menu
locales: [en]
prompts:
  choose: {en: Say billing or press 1; say support or press 2.}
  retry: {en: "Sorry. Press 1 for billing, 2 for support."}
  bye: {en: Goodbye.}
steps:
  - id: choose
    kind: menu
    prompt: choose
    retry_prompt: retry
    options:
      - {key: "1", next: billing, words: {en: [billing, bill]}}
      - {key: "2", next: support, words: {en: [support]}}
      - {key: "9", next: bye}
  - id: billing
    kind: route
    queue: billing
    skills: [billing]
  - id: support
    kind: route
  - id: bye
    kind: hangup
    prompt: bye
"""


def test_menu_by_key_and_by_word() -> None:
    by_key = Caller(flow=load_flow(MENU))
    by_key.keys("1")
    assert (by_key.route().queue, by_key.route().skills) == ("billing", ("billing",))
    by_word = Caller(flow=load_flow(MENU))
    by_word.finish_prompt()
    by_word.say("it's about support")
    assert by_word.route().queue == "support"


def test_menu_without_a_match_retries_then_a_person() -> None:
    caller = Caller(flow=load_flow(MENU))
    caller.keys("5")
    assert caller.prompts()[-1] == "retry"
    caller.finish_prompt()
    caller.say("pizza")
    assert caller.route().reason == "no_match"


def test_hangup_step_says_goodbye_then_hangs_up() -> None:
    caller = Caller(flow=load_flow(MENU))
    caller.keys("9")
    assert caller.prompts()[-1] == "bye"
    assert caller.finish_prompt() == [Hangup("flow")]
    assert caller.ivr.finished


def test_a_failing_lookup_does_not_drop_the_caller() -> None:
    def broken(_digits: str) -> AccountMatch | None:
        raise ConnectionError("database is away")

    caller = Caller(lookup=broken)
    caller.keys("12345678#")
    assert caller.prompts()[-1] == "identify_retry"
    caller.finish_prompt()
    caller.keys("12345678#")
    data = caller.route().call_data
    assert data["identified"] is False
    assert data["lookup_error"] == "ConnectionError: database is away"


# --- no path loops -------------------------------------------------------------------------------

ALPHABET: list[Event | None] = [
    DtmfDigit("0"),
    DtmfDigit("5"),
    DtmfDigit("#"),
    SpeechStarted(),
    SpeechEnded(),
    SpeechRecognised("fine thanks"),
    SpeechRecognised("one two three four"),
    SpeechRecognised("agent"),
    SpeechRecognised("uh", final=False),
    SpeechRecognised(""),
    PromptFinished(),
    Timeout(0),  # stale
    None,  # the current timer runs out
]


def fork(caller: Caller) -> Caller:
    return copy.deepcopy(caller, {id(caller.ivr.flow): caller.ivr.flow})


def check_ends(caller: Caller) -> None:
    caller = fork(caller)
    caller.stay_silent()
    assert len(caller.ends()) == 1, caller.actions
    steps = caller.ivr.call_data["steps"]
    assert len(steps) == len(set(steps)), steps  # no step is entered twice
    assert len(caller.prompts()) <= MAX_PROMPTS + 1


def walk(caller: Caller, depth: int) -> int:
    check_ends(caller)
    if depth == 0 or caller.ivr.phase is Phase.DONE:
        return 1
    count = 1
    for event in ALPHABET:
        branch = fork(caller)
        branch.send(event if event is not None else Timeout(branch.ivr.timer))
        count += walk(branch, depth - 1)
    return count


@pytest.mark.parametrize(("flow_text", "depth"), [(None, 4), (MENU, 3)], ids=["default", "menu"])
def test_every_event_sequence_ends_at_a_person_or_a_hangup(flow_text: str | None, depth) -> None:
    flow = default_flow() if flow_text is None else load_flow(flow_text)
    walked = walk(Caller(flow=flow), depth)
    assert walked > 10**depth // 10
