"""The placeholder call flow: greet the caller, then put them through to an agent.

``extra.flow = "telephony.callflow.greeting:greeting_then_agent"``; tests and the call benchmark
use it where the IVR is not what they measure.
"""

from __future__ import annotations

from telephony.callflow.base import CallControl, CallFlow, FlowContext
from telephony.tap import TapFrame

GREETING = "Hello, thank you for calling {company}. How are you today?"


class GreetingThenAgent:
    """Greet, then route to an agent (at the greeting's end, or on 0)."""

    def __init__(self, context: FlowContext) -> None:
        self.context = context
        self.routed = False

    def on_answered(self, call: CallControl) -> None:
        call.publish("ivr.step", step="greeting")
        call.play(call.render(GREETING.format(company=self.context.company)))

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        if digit == "0":
            self._route(call)

    def on_prompt_finished(self, call: CallControl) -> None:
        self._route(call)

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        pass

    def on_ended(self, call: CallControl, reason: str) -> None:
        pass

    def _route(self, call: CallControl) -> None:
        if not self.routed:
            self.routed = True
            call.stop_prompt()
            call.route_to_agent(skill=None)


def greeting_then_agent(context: FlowContext) -> CallFlow:
    return GreetingThenAgent(context)
