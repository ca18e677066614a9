"""Rehearsal of typed turns: parsing each line (with exact errors naming the line) and walking
the default flow to its routing, as the console's rehearsal panel shows it."""

from __future__ import annotations

import re

import pytest

from ivr.accounts import AccountMatch
from ivr.flow import default_flow
from ivr.rehearsal import MAX_TURNS, Turn, TurnError, parse_turns, rehearse


def test_each_line_is_a_turn() -> None:
    text = "not great, my line is down\n\n12345678#\nsilence\nsay: 1 2 3\nkeys: 0 #\n# a note\n"
    assert parse_turns(text) == [
        Turn("say", "not great, my line is down", 1),
        Turn("keys", "12345678#", 3),
        Turn("silence", "", 4),
        Turn("say", "1 2 3", 5),
        Turn("keys", "0#", 6),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("fine\nkeys: 12a", "line 2: '12a' are not keys (1 to 32 of 0-9, * and #)"),
        ("say:   ", "line 1: 'say:' needs the words the caller says"),
        ("x" * 301, "line 1: longer than 300 characters"),
        ("fine\n\nhello\x07", "line 3: contains control characters"),
        ("silence\n" * (MAX_TURNS + 1), f"line {MAX_TURNS + 1}: at most {MAX_TURNS} turns"),
    ],
)
def test_bad_turns_name_their_line(text: str, error: str) -> None:
    with pytest.raises(TurnError, match=re.escape(error)):
        parse_turns(text)


def test_rehearsal_shows_prompts_steps_and_the_routing() -> None:
    account = AccountMatch(account_id=7, customer_id=3, number="12345678",
                           customer_name="Ada Rossi", preferred_agent_id=2)
    turns = parse_turns("not great, my line is down\n12345678#")
    done = rehearse(default_flow(), turns, "en", "ACME",
                    lambda digits: account if digits == "12345678" else None)
    said = [line["text"] for line in done.lines if line["kind"] == "prompt"]
    assert said[0] == "Hello, thank you for calling ACME. How are you today?"
    assert said[1].startswith("I'm sorry to hear that")
    steps = [line["step"] for line in done.lines if line["kind"] == "step"]
    assert steps[:3] == ["greeting", "acknowledge", "identify"] and steps[-1] == "route"
    turns_seen = [line for line in done.lines if line["kind"] == "turn"]
    assert [(t["line"], t["at_step"]) for t in turns_seen] == [(1, "greeting"), (2, "identify")]
    result = done.as_json()
    assert result["end"]["outcome"] == "route" and result["end"]["queue"] == "support"
    data = result["end"]["call_data"]
    assert data["mood"] == "upset" and data["identified"] is True
    assert data["customer_name"] == "Ada Rossi" and data["preferred_agent_id"] == 2
    assert result["unused_turns"] == []


def test_unknown_account_then_silence_reaches_a_person_and_spare_turns_are_reported() -> None:
    done = rehearse(default_flow(), parse_turns("silence\nhello\nhello"), "it")
    assert done.lines[1]["text"].startswith("Buongiorno")
    assert done.route is not None and done.route.reason == "no_input"
    assert [t.line for t in done.unused_turns] == [2, 3]


def test_operator_key_goes_to_a_person_at_once() -> None:
    done = rehearse(default_flow(), parse_turns("0"), "en")
    assert done.route is not None and done.route.reason == "operator"
