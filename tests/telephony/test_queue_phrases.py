"""The words of the wait in line come from the call's flow document, else the default flow's."""

from __future__ import annotations

import pytest

from ivr.flow import check_flow, default_flow, load_flow
from ivr.flow_schema import QUEUE_PROMPTS, flow_schema
from ivr.survey import SURVEY_PROMPTS
from telephony.queue_phrases import POSITION_TEXTS, QueuePhrases

FLOW = """\
name: outage
locales: [en, it]
variables: {team: the night team}
prompts:
  greeting:
    en: Hello.
    it: Buongiorno.
  queue_position:
    en: You are caller {position} for {team}.
    it: Lei è il {position}.
  queue_callback_offer:
    en: Press 1 for a callback.
    it: Prema 1.
steps:
  - id: greeting
    kind: announcement
    prompt: greeting
  - id: route
    kind: route
"""


def test_the_default_flow_says_every_word_of_the_wait() -> None:
    flow = default_flow()
    for prompt_id in QUEUE_PROMPTS:
        assert set(flow.prompts[prompt_id]) == set(flow.locales), prompt_id
    schema_prompts = flow_schema()["properties"]["prompts"]["properties"]
    assert set(schema_prompts) == set(QUEUE_PROMPTS) | set(SURVEY_PROMPTS)  # no step names them


def test_the_calls_flow_document_speaks_first_in_its_own_locale() -> None:
    phrases = QueuePhrases("it", load_flow(FLOW), {"company": "ACME"})
    assert phrases.position(3) == ("Lei è il 3. Prema 1.", "it")
    english = QueuePhrases("en", load_flow(FLOW))
    assert english.position(2) == (
        "You are caller 2 for the night team. Press 1 for a callback.",
        "en",
    )


def test_what_the_flow_leaves_out_is_the_default_flows() -> None:
    phrases = QueuePhrases("it", load_flow(FLOW))
    assert phrases.callback_confirmed() == (
        "Grazie. La richiameremo appena un operatore sarà libero. Arrivederci.",
        "it",
    )
    assert QueuePhrases("ko").position(1) == (POSITION_TEXTS["ko"].format(position=1), "ko")
    assert QueuePhrases("fr").position(4) == (POSITION_TEXTS["en"].format(position=4), "en")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("en: Hello.", "en: Hello {position}.", "prompts.greeting.en"),
        ("Press 1 for a callback.", "Press 1, {position}.", "prompts.queue_callback_offer.en"),
    ],
)
def test_only_the_place_in_line_may_say_the_position(old: str, new: str, where: str) -> None:
    issues = [str(issue) for issue in check_flow(FLOW.replace(old, new), "outage.yaml")]
    assert len(issues) == 1 and f"{where}: unknown placeholder {{position}}" in issues[0]
    assert check_flow(FLOW, "outage.yaml") == []
