"""The post-call survey's logic: keys and words answer, a timeout skips, the thanks ends it."""

from __future__ import annotations

import pytest

from ivr.flow import default_flow
from ivr.survey import CSAT, SOLVED, SURVEY_PROMPTS, THANKS, SurveyRun


def test_keys_answer_both_questions_then_the_caller_is_thanked() -> None:
    run = SurveyRun("en")
    assert run.start() == CSAT
    assert run.on_key("9") is None  # not a score: the question stands
    assert run.on_key("4") == SOLVED
    assert run.on_key("3") is None
    assert run.on_key("2") == THANKS
    run.thanked()
    assert run.finished and run.answers.csat == 4 and run.answers.solved is False
    assert run.answers.channel == "key"


@pytest.mark.parametrize(
    ("locale", "score", "yes"),
    [("en", "four please", "yes it was"), ("it", "quattro", "sì"), ("ko", "사", "네")],
)
def test_spoken_answers_in_each_locale(locale: str, score: str, yes: str) -> None:
    run = SurveyRun(locale)
    run.start()
    assert run.on_words("hmm") is None
    assert run.on_words(score) == SOLVED
    assert run.on_words(yes) == THANKS
    assert run.answers.csat == 4 and run.answers.solved is True and run.answers.channel == "voice"


def test_a_score_out_of_range_or_yes_and_no_together_is_not_an_answer() -> None:
    run = SurveyRun("en")
    run.start()
    assert run.on_words("seven") is None
    assert run.on_words("twelve") is None
    run.on_key("5")
    assert run.on_words("yes no") is None


def test_silence_skips_each_question_and_records_nothing() -> None:
    run = SurveyRun("en")
    run.start()
    assert run.on_timeout() == SOLVED
    assert run.on_timeout() == THANKS
    assert not run.answers.answered


def test_the_default_flow_says_every_survey_prompt_in_every_locale() -> None:
    flow = default_flow()
    for prompt in SURVEY_PROMPTS:
        assert set(flow.prompts[prompt]) == set(flow.locales), prompt
