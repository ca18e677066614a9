"""The alert rule boundary: what a rule reads, what it raises, and the registry by name.

A rule is a small class registered in `RULES` under its ``name``; its ``defaults`` are its
thresholds (numbers), which a deployment overrides per queue (stored as data). A rule answers
either when a line of speech is heard (`Rule.heard`) or on the call's clock (`Rule.tick`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ivr.mood import Mood

Params = Mapping[str, float]


@dataclass(frozen=True)
class Alert:
    """One alert: its rule (``kind``), a sentence for the page and the words that raised it."""

    kind: str
    reason: str
    words: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """A final line of speech: who said it, the words, when it ended (seconds, any clock) and
    the caller's prosody change against their own baseline (None for the first utterance), and
    the caller's mood from both."""

    speaker: str
    text: str
    at: float
    prosody: Mapping[str, float] | None = None
    mood: Mood | None = None


@dataclass
class CallFacts:
    """What the rules may read about one call, kept by `ivr.alerts.watch.CallWatch`."""

    locale: str
    started_at: float
    now: float
    bridged_at: float | None = None
    hold_since: float | None = None
    last_voice_at: float | None = None
    caller_talking_since: float | None = None
    agent_talking_since: float | None = None
    phrases: tuple[str, ...] = ()
    fired: set[str] = field(default_factory=set)  # episode keys of alerts already raised
    last: dict[str, float] = field(default_factory=dict)  # rule -> when it last raised

    def once(self, key: str) -> bool:
        """True the first time *key* is asked for (one alert per episode)."""
        if key in self.fired:
            return False
        self.fired.add(key)
        return True


class Rule:
    """An alert rule: override `heard` and/or `tick`; return alerts (usually none)."""

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, float]] = {}
    #: Whether it judges a line by its voice too: such a rule hears a line again once the
    #: prosody of its utterance arrives after it (the final can come first, at the pause).
    uses_prosody: ClassVar[bool] = False

    def heard(self, line: Line, facts: CallFacts, params: Params) -> list[Alert]:
        return []

    def tick(self, facts: CallFacts, params: Params) -> list[Alert]:
        return []


RULES: dict[str, type[Rule]] = {}


def register(rule: type[Rule]) -> type[Rule]:
    """Class decorator: *rule* joins `RULES` under its name."""
    RULES[rule.name] = rule
    return rule


def defaults() -> dict[str, dict[str, float]]:
    """Every registered rule's default thresholds, by rule name."""
    return {name: dict(rule.defaults) for name, rule in RULES.items()}
