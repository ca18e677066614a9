"""The post-call survey of one conversation: whether it is due, keeping the caller on the line
when the agent hangs up, and storing the answers before the call ends.

At the bridge the store says (off the loop) whether the caller's queue asks for the survey and
the customer's frequency cap allows it (`store.surveys.due`). When the agent hangs up and it is
due, or the store has not answered yet (the caller then waits in silence for the answer, at most
`DECISION_WAIT_SECONDS`), the bridge comes down, the agent's part ends (wrap-up, as after any
call) and the call's flow asks the questions (`telephony.callflow.survey`); its answers, or a
skip, are stored and the call ends. A flow that cannot survey (not the IVR), a transfer under
way or a caller gone means no survey: the call ends as it always did.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ivr.survey import SurveyAnswers
from store import surveys
from telephony.callflow.survey import RunsSurvey

if TYPE_CHECKING:
    from telephony.conversation import Conversation

log = logging.getLogger(__name__)


#: how long a caller left by their agent waits, in silence, for a decision still being taken
#: (the store is slow or stuck); then the call ends as if no survey were due
DECISION_WAIT_SECONDS = 5.0


class AfterCall:
    """A conversation's survey: due or not (or still being decided), under way or not."""

    def __init__(self, call: Conversation) -> None:
        self.call = call
        self.due = False  # decided at the bridge
        self.deciding = False  # the store has not answered yet
        self.holding = False  # the agent hung up before the answer: the caller waits for it
        self.surveying = False  # the agent's part ended; the caller is kept for the survey

    def bridged(self) -> None:
        """Ask the store, off the loop, whether this caller gets the survey at the end."""
        call = self.call
        flow: object = call.flow  # any flow; only some can survey
        if call.direction != "inbound" or not isinstance(flow, RunsSurvey):
            log.info("call %s: no survey (flow %s)", call.id, type(flow).__name__)
            return
        queue = call.call_data.get("queue") or call.context.queue
        customer = call.call_data.get("customer_id")
        db, caller, call_id = call.switch.db, call.caller, call.id

        def due() -> bool:
            try:
                return surveys.due(db, queue, customer, caller, None)
            except Exception:  # a failed decision is "not due", never a caller left waiting
                log.exception("call %s: survey decision failed", call_id)
                return False

        self.deciding = True
        call.switch.store(due, self._decided)

    def _decided(self, due: Any) -> None:
        """On the loop: the store's answer; a caller already left by their agent is asked now,
        or let go."""
        self.deciding = False
        self.due = bool(due)
        log.info("call %s: survey due=%s", self.call.id, self.due)
        if self.holding:
            self._held_until_decided()

    def agent_gone(self) -> bool:
        """The agent hung up: keep the caller for the survey when it is due, or when the store
        has not said yet (they wait for the answer); else False (the call ends)."""
        call = self.call
        flow: object = call.flow
        customer, bridge = call.customer, call.bridge
        if not (self.due or self.deciding) or bridge is None or not isinstance(flow, RunsSurvey):
            return False
        if customer is None or customer.state != "confirmed" or call.consult is not None:
            log.info("call %s: no survey (caller %s)", call.id, customer and customer.state)
            return False
        bridge.disconnect()
        call.bridge = None  # the agent's leg is gone; a media update must not re-wire it
        self.surveying = True
        agent_id = call.agent_id
        if agent_id is not None:
            call.record.agent_wrap_up(agent_id, "agent hung up")
            call.publish("agent.state", None, agent_id=agent_id, state="wrap_up")
        if self.deciding:
            log.info("call %s: agent gone before the survey decision; the caller waits", call.id)
            self.holding = True
            call.switch.later(DECISION_WAIT_SECONDS, self._decision_late)
            return True
        self._ask()
        return True

    def _held_until_decided(self) -> None:
        self.holding = False
        call = self.call
        if call.ended:
            return
        customer = call.customer
        if self.due and customer is not None and customer.state == "confirmed":
            self._ask()
        else:
            call.end("agent hung up")

    def _decision_late(self) -> None:
        if self.holding and not self.call.ended:
            log.warning(
                "call %s: no survey decision in %.0f s; the call ends",
                self.call.id,
                DECISION_WAIT_SECONDS,
            )
            self.holding = False
            self.call.end("agent hung up")

    def _ask(self) -> None:
        call = self.call
        flow: object = call.flow
        if not isinstance(flow, RunsSurvey):  # the flow was let go meanwhile
            call.end("agent hung up")
            return
        call.publish("survey", call.customer, state="started", agent_id=call.agent_id)
        flow.start_survey(call.control, self._answered)

    def _answered(
        self, answers: SurveyAnswers, asked_at: datetime, answered_at: datetime | None
    ) -> None:
        """Any thread: store the answers (a skip too: it counts for the cap), then end."""
        call = self.call
        db, call_id, caller = call.switch.db, call.id, call.caller
        agent_id, customer = call.agent_id, call.call_data.get("customer_id")
        call.call_data["survey"] = {"csat": answers.csat, "solved": answers.solved}

        def keep() -> None:
            try:
                surveys.record(
                    db,
                    call_id,
                    customer_id=customer,
                    caller=caller,
                    agent_id=agent_id,
                    csat=answers.csat,
                    solved=answers.solved,
                    channel=answers.channel,
                    asked_at=asked_at,
                    answered_at=answered_at,
                )
            except Exception:  # the caller is still thanked and let go
                log.exception("call %s: survey answers not stored", call_id)

        def stored(_: Any) -> None:
            state = "answered" if answers.answered else "skipped"
            call.publish(
                "survey",
                None,
                state=state,
                csat=answers.csat,
                solved=answers.solved,
                channel=answers.channel,
            )
            call.end("agent hung up")

        call.switch.post(lambda: call.switch.store(keep, stored))
