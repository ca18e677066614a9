"""A benchmark call flow that sends the caller straight to an agent, with no greeting."""

from __future__ import annotations

from telephony.callflow.base import CallControl, CallFlow, FlowContext
from telephony.tap import TapFrame


class StraightToAgent:
    """Route to the longest-idle agent as soon as the caller is answered."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context

    def on_answered(self, call: CallControl) -> None:
        call.route_to_agent(skill=None)

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        pass

    def on_prompt_finished(self, call: CallControl) -> None:
        pass

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        pass

    def on_ended(self, call: CallControl, reason: str) -> None:
        pass


def straight_to_agent(context: FlowContext) -> CallFlow:
    return StraightToAgent(context)
