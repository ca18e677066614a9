"""The extractive summary of a call: the caller's reason in their own words, what the agent did.

Nothing is generated: sentences are picked from the greeting and the first exchange, actions
from the credits, transfers, notes and wrap-up code the store holds. It runs on the premises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.facts import AgentAction, CallFacts
from analytics.phrases import is_backchannel, phrases_for, words
from analytics.turns import AGENT, CALLER

#: a reason longer than this many characters is cut at a word
REASON_CHARACTERS = 240


@dataclass
class Summary:
    reason: str | None
    actions: list[AgentAction] = field(default_factory=list)
    text: str = ""


def reason_of(facts: CallFacts) -> str | None:
    """The greeting, else the caller's first line after the agent's first (the first exchange)."""
    phrases = phrases_for(facts.locale)
    if len(words(facts.greeting)) >= 3:
        return _cut(facts.greeting)
    agent_spoke = False
    for said in facts.utterances:
        if said.speaker == AGENT:
            agent_spoke = True
        elif (
            said.speaker == CALLER
            and (agent_spoke or facts.bridged is None)
            and not is_backchannel(said.text, phrases)
            and len(words(said.text)) >= 2
        ):
            return _cut(said.text)
    caller_lines = [said.text for said in facts.utterances if said.speaker == CALLER]
    return _cut(caller_lines[0]) if caller_lines else (_cut(facts.greeting) or None)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= REASON_CHARACTERS:
        return text
    return text[:REASON_CHARACTERS].rsplit(" ", 1)[0] + " …"


def summarise(facts: CallFacts) -> Summary:
    reason = reason_of(facts)
    actions = list(facts.actions)
    if facts.wrap_up:
        actions.append(AgentAction("wrap_up", facts.wrap_up))
    parts = [f"Reason: {reason}." if reason else "Reason: not said."]
    if facts.bridged is None:
        parts.append("No agent took the call.")
    for action in actions:
        parts.append(f"{action.kind.replace('_', ' ').capitalize()}: {action.text}.")
    return Summary(reason, actions, " ".join(parts))
