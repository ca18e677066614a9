"""Flow documents: valid flows parse; each broken flow gives its own clear error."""

from __future__ import annotations

import json
import textwrap

import pytest

from ivr.document import dump_document
from ivr.flow import (
    AcknowledgeStep,
    FlowCache,
    FlowError,
    IdentifyStep,
    MenuStep,
    QuestionStep,
    RouteStep,
    check_flow,
    default_flow,
    flow_from_dict,
    load_flow,
)

SOURCE = "flows/support.yaml"

VALID = """\
name: support
locales: [en, it]
prompts:
  greeting:
    en: Hello, thank you for calling {company}. How are you?
    it: Buongiorno, grazie per aver chiamato {company}. Come sta?
  ack:
    en: Thank you.
    it: Grazie.
  identify:
    en: Please key in your account number.
    it: Digiti il suo numero di conto.
steps:
  - id: greeting
    kind: question
    prompt: greeting
    timeout: 5
  - id: acknowledge
    kind: acknowledge
    prompts: {calm: ack, neutral: ack, upset: ack}
  - id: identify
    kind: identify
    prompt: identify
    retries: 1
  - id: route
    kind: route
    queue: billing
"""


def broken(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


BROKEN = [
    (
        "unknown prompt",
        broken("    prompt: identify\n", "    prompt: identfy\n"),
        "flows/support.yaml:23: steps[2].prompt: unknown prompt 'identfy'",
    ),
    (
        "missing locale",
        broken("    it: Grazie.\n", ""),
        "flows/support.yaml:7: prompts.ack: missing locale 'it'",
    ),
    (
        "locale not declared",
        broken("    it: Grazie.\n", "    it: Grazie.\n    ko: 감사합니다.\n"),
        "flows/support.yaml:10: prompts.ack.ko: locale 'ko' is not in locales",
    ),
    (
        "unsupported locale",
        broken("locales: [en, it]", "locales: [en, it, fr]"),
        "flows/support.yaml:2: locales[2]: unsupported locale 'fr' (en, it, ko)",
    ),
    (
        "negative timeout",
        broken("    timeout: 5\n", "    timeout: -3\n"),
        "flows/support.yaml:17: steps[0].timeout: must be seconds from 1 to 60, got -3",
    ),
    (
        "timeout as text",
        broken("    timeout: 5\n", "    timeout: soon\n"),
        "flows/support.yaml:17: steps[0].timeout: must be seconds from 1 to 60, got 'soon'",
    ),
    (
        "too many retries",
        broken("    retries: 1\n", "    retries: 7\n"),
        "flows/support.yaml:24: steps[2].retries: must be a whole number from 0 to 3, got 7",
    ),
    (
        "unknown step kind",
        broken("    kind: acknowledge\n", "    kind: survey\n"),
        "flows/support.yaml:19: steps[1].kind: unknown step kind 'survey' (known: question, "
        "acknowledge, identify, announcement, menu, route, hangup)",
    ),
    (
        "loop",
        broken("    retries: 1\n", "    retries: 1\n    next: greeting\n"),
        "flows/support.yaml:25: steps[2].next: loop: "
        "greeting -> acknowledge -> identify -> greeting",
    ),
    (
        "unreachable step",
        broken("    prompt: greeting\n", "    prompt: greeting\n    next: identify\n"),
        "flows/support.yaml:19: steps[1]: step 'acknowledge' is unreachable",
    ),
    (
        "next names no step",
        broken("    prompt: greeting\n", "    prompt: greeting\n    next: idenify\n"),
        "flows/support.yaml:17: steps[0].next: unknown step 'idenify'",
    ),
    (
        "no person at the end",
        broken("  - id: route\n    kind: route\n    queue: billing\n", ""),
        "flows/support.yaml:21: steps[2]: the flow ends here without reaching a person: "
        "add a route step",
    ),
    (
        "route with next",
        VALID + "    next: greeting\n",
        "flows/support.yaml:28: steps[3].next: a route step has no next: "
        "it ends the flow at a person",
    ),
    (
        "typo in a field",
        broken("    retries: 1\n", "    retires: 1\n"),
        "flows/support.yaml:24: steps[2].retires: unknown field (allowed: checksum, id, kind, "
        "max_digits, min_digits, next, prompt, retries, retry_prompt, timeout)",
    ),
    (
        "missing mood",
        broken("{calm: ack, neutral: ack, upset: ack}", "{calm: ack, neutral: ack}"),
        "flows/support.yaml:20: steps[1].prompts: missing mood 'upset'",
    ),
    (
        "duplicate step id",
        broken("  - id: acknowledge\n", "  - id: greeting\n"),
        "flows/support.yaml:18: steps[1].id: duplicate step id 'greeting'",
    ),
    (
        "unknown placeholder",
        broken("calling {company}. How", "calling {compny}. How"),
        "flows/support.yaml:5: prompts.greeting.en: unknown placeholder {compny} (known: company)",
    ),
    (
        "min above max digits",
        broken("    retries: 1\n", "    retries: 1\n    min_digits: 9\n    max_digits: 4\n"),
        "flows/support.yaml:25: steps[2].min_digits: min_digits 9 is above max_digits 4",
    ),
    (
        "YAML syntax",
        broken("    timeout: 5\n", "    timeout: [5\n"),
        "flows/support.yaml:18: document: YAML syntax: expected ',' or ']', but got ':'",
    ),
    (
        "duplicate key",
        broken("    timeout: 5\n", "    timeout: 5\n    timeout: 6\n"),
        "flows/support.yaml:18: steps[0].timeout: duplicate key",
    ),
    (
        "not a mapping",
        "- just\n- a list\n",
        "flows/support.yaml:1: document: must be a mapping of flow fields "
        "(name, locales, prompts, steps), got ['just', 'a list']",
    ),
    (
        "prompt id that is a number",
        broken("  ack:\n", "  7:\n"),
        "flows/support.yaml:7: prompts[7]: 7 is not a prompt id (a-z, 0-9, _)",
    ),
    (
        "missing steps",
        VALID[: VALID.index("steps:")],
        "flows/support.yaml:1: document: missing field 'steps'",
    ),
]


@pytest.mark.parametrize(("case", "text", "error"), BROKEN, ids=[case for case, _, _ in BROKEN])
def test_broken_flow_gives_its_own_error(case: str, text: str, error: str) -> None:
    issues = [str(issue) for issue in check_flow(text, SOURCE)]
    assert issues, case
    assert error in issues, "\n".join(issues)


def test_errors_are_distinct_across_the_table() -> None:
    messages = [error for _, _, error in BROKEN]
    assert len(set(messages)) == len(messages)


def test_every_issue_is_reported_at_once() -> None:
    text = broken("    timeout: 5\n", "    timeout: 0\n").replace("prompt: identify", "prompt: x")
    with pytest.raises(FlowError) as raised:
        load_flow(text, SOURCE)
    assert [issue.field for issue in raised.value.issues] == ["steps[0].timeout", "steps[2].prompt"]
    assert str(raised.value).count(SOURCE) == 2


def test_valid_flow_parses_into_typed_steps() -> None:
    flow = load_flow(VALID, SOURCE)
    assert flow.name == "support"
    assert flow.locales == ("en", "it")
    assert [type(step) for step in flow.steps] == [
        QuestionStep,
        AcknowledgeStep,
        IdentifyStep,
        RouteStep,
    ]
    greeting = flow.step("greeting")
    assert isinstance(greeting, QuestionStep)
    assert greeting.timeout == 5.0
    assert greeting.next == "acknowledge"  # implicit: the following step
    assert flow.step("route").next is None
    assert flow.prompt_text("greeting", "it", {"company": "ACME"}).endswith("ACME. Come sta?")


def test_json_flow_parses_with_line_numbers() -> None:
    document = load_flow(VALID, SOURCE).document
    text = json.dumps(document, indent=2)
    assert load_flow(text, "support.json").name == "support"
    bad = text.replace('"timeout": 5', '"timeout": 0')
    (issue,) = check_flow(bad, "support.json")
    assert str(issue).startswith("support.json:")
    assert issue.line > 1
    assert issue.field == "steps[0].timeout"


def test_stored_document_round_trips() -> None:
    flow = load_flow(VALID, SOURCE)
    again = load_flow(dump_document(dict(flow.document)), "exported.yaml")
    assert again == flow
    assert flow_from_dict(flow.document) == flow


def test_stored_document_errors_have_no_line() -> None:
    document = dict(load_flow(VALID, SOURCE).document)
    document["locales"] = ["en", "it", "ko"]
    with pytest.raises(FlowError) as raised:
        flow_from_dict(document, "flow 'support'")
    assert "flow 'support': prompts.greeting: missing locale 'ko'" in str(raised.value)


MENU = """\
name: menu
locales: [en]
prompts:
  choose: {en: Press 1 for billing or 2 for support.}
  sub: {en: Press 1 for invoices.}
steps:
  - id: choose
    kind: menu
    prompt: choose
    options:
      - {key: "1", next: billing, words: {en: [billing, bill]}}
      - {key: "2", next: support}
  - id: billing
    kind: route
    queue: billing
  - id: support
    kind: route
    queue: support
"""


def test_one_level_menu_is_fine() -> None:
    flow = load_flow(MENU, "menu.yaml")
    menu = flow.first
    assert isinstance(menu, MenuStep)
    assert [option.key for option in menu.options] == ["1", "2"]
    assert menu.options[0].words == {"en": ("billing", "bill")}


def test_menu_below_a_menu_is_refused() -> None:
    text = MENU.replace(
        "  - id: billing\n    kind: route\n    queue: billing\n",
        "  - id: billing\n    kind: menu\n    prompt: sub\n    options:\n"
        '      - {key: "1", next: support}\n',
    )
    issues = [str(issue) for issue in check_flow(text, "menu.yaml")]
    assert issues == [
        "menu.yaml:11: steps[0].options[0].next: menus are one level deep: "
        "'billing' leads to menu 'billing'"
    ]


def test_menu_option_cannot_take_the_operator_key() -> None:
    issues = [str(issue) for issue in check_flow(MENU.replace('key: "2"', 'key: "0"'), "m.yaml")]
    assert issues == ["m.yaml:12: steps[0].options[1].key: key '0' is the operator key"]


def test_default_flow_is_valid_in_every_shipped_locale() -> None:
    flow = default_flow()
    assert flow.locales == ("en", "it", "ko")
    assert [step.kind for step in flow.steps] == [
        "question",
        "acknowledge",
        "identify",
        "announcement",
        "route",
    ]
    greeting = flow.prompt_text("greeting", "en", {"company": "ACME"})
    assert greeting == "Hello, thank you for calling ACME. How are you today?"
    assert flow.prompt_text("greeting", "en", {}) == (
        "Hello, thank you for calling Centralino. How are you today?"
    )
    for prompt in flow.prompts.values():
        assert set(prompt) == {"en", "it", "ko"}


def test_error_line_points_at_the_field() -> None:
    text = textwrap.dedent(VALID).replace("queue: billing", "queue: 7")
    (issue,) = check_flow(text, SOURCE)
    assert text.splitlines()[issue.line - 1].strip() == "queue: 7"


def test_flow_cache_parses_each_version_once_and_falls_back_to_default() -> None:
    cache = FlowCache()
    document = dict(load_flow(VALID, SOURCE).document)
    first = cache.flow("support", 1, document)
    assert cache.flow("support", 1, document) is first
    edited = {**document, "queue": "vip"}
    assert cache.flow("support", 2, edited).queue == "vip"
    assert cache.flow(None, 0, None) == default_flow()
    broken = {**document, "locales": ["en", "it", "ko"]}
    assert cache.flow("support", 3, broken) == default_flow()
    assert "missing locale 'ko'" in str(cache.errors[("support", 3)])
