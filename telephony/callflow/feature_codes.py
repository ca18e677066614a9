"""Feature codes for an agent with only a desk phone: ``*21`` available (also: wrap-up done),
``*22`` pause, ``*23`` log out of the queues. The edge sends them here only from an
authenticated device, naming it in ``X-Centralino-Device`` (kamailio.cfg.tmpl, FEATURECODE);
the move is `store.agents.set_own_state`, the same as the desk's buttons; a short prompt says
what happened, then the switch hangs up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select

from store import agents
from store.db import Database
from store.models import Agent, Device
from telephony.callflow.base import CallControl, CallFlow, FlowContext, FlowFactory
from telephony.tap import TapFrame


@dataclass(frozen=True)
class FeatureCode:
    wanted: str  # an agent's own state (store.agents.OWN_STATES)
    done: str  # what the agent hears when it worked


FEATURE_CODES: dict[str, FeatureCode] = {
    "*21": FeatureCode("available", "You are available."),
    "*22": FeatureCode("paused", "You are paused."),
    "*23": FeatureCode("logged_out", "You are logged out of the queues."),
}
NO_AGENT = "This phone belongs to no agent."
REFUSED = "Not now. Your state is {state}."


class FeatureCodeFlow:
    """Make the move on answer (off the loop: it writes the store), say it, hang up."""

    def __init__(self, context: FlowContext, db: Database, device_user: str) -> None:
        self.code = FEATURE_CODES[context.dialled]
        self.db, self.device_user = db, device_user
        self.context = context

    def on_answered(self, call: CallControl) -> None:
        threading.Thread(target=self._move, args=(call,), name="feature-code", daemon=True).start()

    def _move(self, call: CallControl) -> None:
        with self.db.session() as session:
            agent_id = session.scalar(
                select(Agent.id).join(Device, Agent.device_id == Device.id)
                .where(Device.sip_username == self.device_user)
            )
        if agent_id is None:
            text = NO_AGENT
        elif agents.set_own_state(self.db, agent_id, self.code.wanted, reason="desk phone"):
            text = self.code.done
            call.publish("agent.state", agent_id=agent_id, state=self.code.wanted,
                         via=self.context.dialled)
        else:
            text = REFUSED.format(state=str(agents.state_of(self.db, agent_id)).replace("_", " "))
        call.play(call.render(text))

    def on_prompt_finished(self, call: CallControl) -> None:
        call.hang_up("feature code")

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None:
        pass

    def on_audio(self, call: CallControl, frame: TapFrame) -> None:
        pass

    def on_ended(self, call: CallControl, reason: str) -> None:
        pass


def feature_code_flow(db: Database, device_user: str) -> FlowFactory:
    """A `FlowFactory` for one device's feature-code call."""

    def factory(context: FlowContext) -> CallFlow:
        return FeatureCodeFlow(context, db, device_user)

    return factory
