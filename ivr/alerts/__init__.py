"""Real-time alerts on a live call: pure rules over what the call's speakers say and do.

`base` holds what a rule reads (`CallFacts`), what it raises (`Alert`) and the registry of rules
by name; `rules` the rules themselves; `phrases` how a watched phrase is found in a locale's
words; `watch` one call's `CallWatch`, which the worker feeds and asks for alerts. Nothing here
imports the worker, the console or the store: thresholds and phrase lists come in as data.

The package itself loads only the pure parts (no numba: the console reads the rules and their
thresholds); one call's watch, which compares voices with `dsp.prosody`, is imported from
`ivr.alerts.watch`.
"""

from ivr.alerts import rules as _rules  # noqa: F401  (registers the rules)
from ivr.alerts.base import RULES, Alert, CallFacts, Rule, defaults

__all__ = ["RULES", "Alert", "CallFacts", "Rule", "defaults"]
