"""One live call's watch: the worker feeds it what happens, it keeps the facts and asks the rules.

Feed it from any thread (one lock): `utterance` (the caller's prosody at the end of each
utterance: the first one is the caller's baseline), `heard` (a final transcript line; returns
the caller's mood then and the alerts), `voice` (a speaker started or stopped talking),
`bridged`, `hold`/`unhold`, and `tick` on the call's clock (returns alerts). Times are seconds
on one clock the caller chooses (the worker uses wall-clock time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dsp.prosody import UtteranceProsody, compare
from ivr.alerts import rules as _rules  # noqa: F401  (registers the rules)
from ivr.alerts.base import RULES, Alert, CallFacts, Line, Rule
from ivr.mood import Mood, estimate_mood

CALLER, AGENT = "caller", "agent"
_PROSODY_FIELDS = tuple(UtteranceProsody.__dataclass_fields__)
#: How long a caller's final may wait for its utterance's prosody (it arrives within a second).
PAIRING_SECONDS = 3.0


@dataclass(frozen=True)
class WatchConfig:
    """The rules a call runs with their thresholds, and the watched phrases of its locale."""

    params: Mapping[str, Mapping[str, float]]
    phrases: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        layers: Iterable[Mapping[str, tuple[bool, Mapping[str, Any]]]] = (),
        phrases: Iterable[str] = (),
    ) -> WatchConfig:
        """Defaults, then each layer in turn (every queue's rows, then this queue's): a layer
        maps a rule name to ``(enabled, thresholds)``; unknown rules and non-numbers are
        ignored, a disabled rule is left out."""
        params: dict[str, dict[str, float]] = {
            name: dict(rule.defaults) for name, rule in RULES.items()
        }
        enabled = dict.fromkeys(RULES, True)
        for layer in layers:
            for name, (on, values) in layer.items():
                if name not in RULES:
                    continue
                enabled[name] = bool(on)
                for key, value in values.items():
                    if key in params[name] and isinstance(value, int | float):
                        params[name][key] = float(value)
        kept = {name: values for name, values in params.items() if enabled[name]}
        return cls(kept, tuple(dict.fromkeys(p.strip() for p in phrases if p.strip())))


@dataclass
class CallWatch:
    """The facts of one call and its rules; see the module's text for how to feed it."""

    locale: str
    started_at: float
    config: WatchConfig = field(default_factory=WatchConfig.build)

    def __post_init__(self) -> None:
        self.facts = CallFacts(self.locale, self.started_at, self.started_at)
        self.facts.phrases = self.config.phrases
        self.rules: dict[str, Rule] = {name: RULES[name]() for name in self.config.params}
        self.baseline: UtteranceProsody | None = None
        self._pending: Mapping[str, float] | None = None  # the last utterance's change
        self._unpaired: tuple[str, float] | None = None  # a caller's final still without its voice
        self._lock = threading.Lock()

    def reconfigure(self, config: WatchConfig) -> None:
        """New thresholds or phrases (edited while the call is live) from now on."""
        with self._lock:
            self.config = config
            self.facts.phrases = config.phrases
            self.rules = {name: RULES[name]() for name in config.params}

    def utterance(
        self, features: Mapping[str, float] | None, at: float
    ) -> tuple[Mood | None, list[Alert]]:
        """The caller finished an utterance with these prosody features (`UtteranceProsody`).
        Its final line usually follows; when it came first (finals arrive at the pause), that
        line is judged again with its voice: its new mood and what the voice rules raise."""
        with self._lock:
            self._voice(CALLER, False, at)
            if not features or not all(key in features for key in _PROSODY_FIELDS):
                return None, []
            measured = UtteranceProsody(**{key: float(features[key]) for key in _PROSODY_FIELDS})
            if measured.speech_seconds <= 0:
                return None, []
            if self.baseline is None:
                self.baseline = measured  # the greeting's answer: nothing to compare with yet
                self._pending = self._unpaired = None
                return None, []
            change = compare(measured, self.baseline)
            prosody = {
                "pitch_semitones": change.pitch_semitones,
                "level_db": change.level_db,
                "rate_ratio": change.rate_ratio,
                "spread_semitones": change.spread_semitones,
            }
            unpaired, self._unpaired = self._unpaired, None
            if unpaired is None or at - unpaired[1] > PAIRING_SECONDS:
                self._pending = prosody
                return None, []
            text, heard_at = unpaired
            mood = estimate_mood(text, self.locale, prosody)
            line = Line(CALLER, text, heard_at, prosody, mood)
            return mood, [
                alert
                for name, rule in self.rules.items()
                if rule.uses_prosody
                for alert in rule.heard(line, self.facts, self.config.params[name])
            ]

    def heard(self, speaker: str, text: str, at: float) -> tuple[Mood | None, list[Alert]]:
        """A final line: the caller's mood (None for the agent) and the alerts it raises."""
        with self._lock:
            self.facts.now = max(self.facts.now, at)
            self.facts.last_voice_at = max(self.facts.last_voice_at or at, at)
            mood = None
            prosody = None
            if speaker == CALLER:
                prosody, self._pending = self._pending, None
                self._unpaired = (text, at) if prosody is None else None
                mood = estimate_mood(text, self.locale, prosody)
            line = Line(speaker, text, at, prosody, mood)
            alerts = [
                alert
                for name, rule in self.rules.items()
                for alert in rule.heard(line, self.facts, self.config.params[name])
            ]
            return mood, alerts

    def voice(self, speaker: str, talking: bool, at: float) -> None:
        with self._lock:
            self._voice(speaker, talking, at)

    def _voice(self, speaker: str, talking: bool, at: float) -> None:
        facts = self.facts
        attribute = "caller_talking_since" if speaker == CALLER else "agent_talking_since"
        since = getattr(facts, attribute)
        if talking and since is None:
            setattr(facts, attribute, at)
        elif not talking and since is not None:
            setattr(facts, attribute, None)
            facts.last_voice_at = max(facts.last_voice_at or at, at)

    def bridged(self, at: float) -> None:
        with self._lock:
            if self.facts.bridged_at is None:
                self.facts.bridged_at = at

    def hold(self, at: float) -> None:
        with self._lock:
            self.facts.hold_since = at

    def unhold(self, at: float) -> None:
        with self._lock:
            self.facts.hold_since = None
            self.facts.last_voice_at = at  # silence counts from the end of the hold

    def tick(self, now: float) -> list[Alert]:
        with self._lock:
            self.facts.now = max(self.facts.now, now)
            return [
                alert
                for name, rule in self.rules.items()
                for alert in rule.tick(self.facts, self.config.params[name])
            ]
