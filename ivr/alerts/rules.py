"""The alert rules, one small class each, registered by name (thresholds are their defaults).

``upset``: the caller's mood (words plus prosody against their own first utterance) falls to
``score_below``; again at most every ``cooldown_seconds``. ``topic``: a watched phrase is said.
``silence``: nobody spoke for ``seconds`` on a bridged call that is not on hold. ``hold``: the
caller has been on hold ``seconds``. ``overtalk``: caller and agent both spoke for ``seconds``
at once. ``long_call``: the call is older than the queue's ``target_seconds``.
"""

from __future__ import annotations

from ivr.alerts.base import Alert, CallFacts, Line, Params, Rule, register
from ivr.alerts.phrases import found


@register
class Upset(Rule):
    name = "upset"
    defaults = {"score_below": -0.25, "cooldown_seconds": 60.0}
    uses_prosody = True

    def heard(self, line: Line, facts: CallFacts, params: Params) -> list[Alert]:
        mood = line.mood
        if line.speaker != "caller" or mood is None or mood.score > params["score_below"]:
            return []
        if line.at - facts.last.get(self.name, -1e18) < params["cooldown_seconds"]:
            return []
        facts.last[self.name] = line.at
        raised = "" if mood.arousal is None else f", voice {mood.arousal:+.2f} against earlier"
        return [
            Alert(
                self.name,
                f"caller sounds upset (score {mood.score:+.2f}{raised})",
                tuple(mood.evidence) or (line.text,),
                {"mood": mood.as_dict(), "text": line.text},
            )
        ]


@register
class Topic(Rule):
    name = "topic"

    def heard(self, line: Line, facts: CallFacts, params: Params) -> list[Alert]:
        alerts = []
        for phrase, said in found(line.text, facts.phrases, facts.locale):
            if facts.once(f"topic:{line.speaker}:{phrase}"):
                alerts.append(
                    Alert(
                        self.name,
                        f"{line.speaker} said “{phrase}”",
                        (said,),
                        {"phrase": phrase, "speaker": line.speaker, "text": line.text},
                    )
                )
        return alerts


@register
class Silence(Rule):
    name = "silence"
    defaults = {"seconds": 20.0}

    def tick(self, facts: CallFacts, params: Params) -> list[Alert]:
        if facts.bridged_at is None or facts.hold_since is not None:
            return []
        if facts.caller_talking_since is not None or facts.agent_talking_since is not None:
            return []
        since = max(facts.bridged_at, facts.last_voice_at or facts.bridged_at)
        quiet = facts.now - since
        if quiet >= params["seconds"] and facts.once(f"silence:{since}"):
            return [
                Alert(self.name, f"nobody has spoken for {quiet:.0f} s", (), {"seconds": quiet})
            ]
        return []


@register
class Hold(Rule):
    name = "hold"
    defaults = {"seconds": 90.0}

    def tick(self, facts: CallFacts, params: Params) -> list[Alert]:
        if facts.hold_since is None:
            return []
        held = facts.now - facts.hold_since
        if held >= params["seconds"] and facts.once(f"hold:{facts.hold_since}"):
            return [Alert(self.name, f"caller on hold for {held:.0f} s", (), {"seconds": held})]
        return []


@register
class Overtalk(Rule):
    name = "overtalk"
    defaults = {"seconds": 2.5, "cooldown_seconds": 30.0}

    def tick(self, facts: CallFacts, params: Params) -> list[Alert]:
        caller, agent = facts.caller_talking_since, facts.agent_talking_since
        if caller is None or agent is None:
            return []
        overlap = facts.now - max(caller, agent)
        if overlap < params["seconds"]:
            return []
        if facts.now - facts.last.get(self.name, -1e18) < params["cooldown_seconds"]:
            return []
        facts.last[self.name] = facts.now
        return [Alert(self.name, f"caller and agent talking at once for {overlap:.1f} s", (), {})]


@register
class LongCall(Rule):
    name = "long_call"
    defaults = {"target_seconds": 600.0}

    def tick(self, facts: CallFacts, params: Params) -> list[Alert]:
        age = facts.now - facts.started_at
        if age >= params["target_seconds"] and facts.once(self.name):
            minutes = params["target_seconds"] / 60
            return [
                Alert(
                    self.name,
                    f"call longer than the queue's target ({age / 60:.1f} min > {minutes:.0f})",
                    (),
                    {"seconds": age},
                )
            ]
        return []
