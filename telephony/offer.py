"""The agent side of one call: the caller's place in line, the offer, and ringing the agent.

`route_to_agent` puts the caller in line (`telephony.queueing.Line`); when the router offers
an agent, `ring` shows the screen pop (``agent.ringing``) and rings the agent's extension for
the queue's ring timeout, with the intercom hint when the device answers on its own. The page's
answer button re-dials a ringing phone with that hint (`answer_from_page`). A missed ring puts
the caller back at the same place (`missed`). A claimed callback (`call_back`) rings its
agent first, then the customer, or in a ``customer_first`` queue the customer first while the
agent is held; a customer who does not answer is the callback policy's to retry or close.
Runs on the worker's loop, like its `Conversation`.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING

import pjsua2 as pj

from store.models import CallState
from telephony.callflow.base import SaysWaiting
from telephony.leg import AGENT, CUSTOMER, Leg
from telephony.line_plan import CUSTOMER_FIRST, DEFAULT_RING_TIMEOUT_SECONDS
from telephony.queue_phrases import QueuePhrases
from telephony.queueing import Line
from telephony.router import CALLBACK, Offer

if TYPE_CHECKING:
    from telephony.conversation import Conversation

log = logging.getLogger(__name__)


class Offering:
    """Where one call stands with its agents: in line, ringing one, or given to one."""

    def __init__(self, call: Conversation) -> None:
        self.call = call
        self.routing = False
        self.line: Line | None = None
        self.intercom_legs: set[str] = set()  # legs dialled with the auto-answer hint
        self.ring_seconds = float(DEFAULT_RING_TIMEOUT_SECONDS)
        self.agent_after_customer: tuple[Offer, bool] | None = None  # customer-first callback

    def route_to_agent(
        self,
        skill: str | None = None,
        preferred: list[int] | None = None,
        customer_id: int | None = None,
        queue: str | None = None,
    ) -> None:
        """Put the caller in line: *queue*, else the flow's ``call_data["queue"]``, else the
        support number's queue; there they hear the words of the call's flow (`SaysWaiting`),
        else the default flow's; see `telephony.queueing.Line`."""
        call = self.call
        if call.ended or self.routing:
            return
        self.routing = True
        call.call_data.setdefault("route", {"skill": skill, "preferred": preferred})
        if customer_id is not None:
            call.call_data["customer_id"] = customer_id
            call.record.update(customer_id=customer_id)
        call.set_state(CallState.QUEUED)
        context = call.context
        queue = queue or call.call_data.get("queue") or context.queue
        flow: object = call.flow  # any flow; some also say the words of the wait
        if isinstance(flow, SaysWaiting):
            words = flow.queue_phrases()
        else:
            words = QueuePhrases(context.locale, None, {"company": context.company})
        self.line = Line(call, queue, words, context.prompt_dir, context.recordings_dir)
        priority = call.call_data.get("priority")  # a flow may set it (e.g. an outage line)
        self.line.join(
            call.caller,
            call.call_data.get("customer_id"),
            skill,
            preferred,
            priority if isinstance(priority, int) else None,
        )

    def call_back(self, offer: Offer, auto_answer: bool) -> None:
        """Place a claimed callback: ring the agent (same screen pop), then call the customer."""
        call = self.call
        customer_id = offer.customer_id
        call.record.opened(call.caller, call.dialled, "outbound")
        if customer_id is not None:
            call.record.update(customer_id=customer_id)
        call.call_data.update(
            kind=CALLBACK,
            customer_id=customer_id,
            callback_number=offer.callback_number,
            requested_on_call=offer.call_id,
            originate_to=offer.callback_number,
        )
        self.routing = True
        self.line = Line.for_callback(call, offer, call.context.prompt_dir)
        if offer.callback_mode == CUSTOMER_FIRST:  # the claimed agent is held meanwhile
            self.agent_after_customer = (offer, auto_answer)
            self.ring_seconds = float(offer.ring_timeout_seconds)
            call.customer = call.dial(CUSTOMER, offer.callback_number or "")
            self.time_ring(call.customer)
            return
        self.ring(offer, auto_answer)

    def customer_answered(self) -> bool:
        """A customer-first callback's customer answered: now ring the held agent."""
        pending, self.agent_after_customer = self.agent_after_customer, None
        if pending is None:
            return False
        self.ring(*pending)
        return True

    def customer_gone(self, code: int, reason: str) -> bool:
        """The customer leg of a callback ended before the bridge: not reached (the policy
        retries or gives up). True when it was that."""
        line = self.line
        if line is None or line.kind != CALLBACK or self.call.was_bridged:
            return False
        line.callback_unreached(f"{code} {reason}".strip())
        return True

    def ring(self, offer: Offer, auto_answer: bool) -> None:
        """Ring the agent the router offered (screen pop first); the ring times out."""
        call, agent = self.call, offer.agent
        call.agent_id = agent.agent_id
        call.call_data["agent_reason"] = agent.reason
        call.publish(
            "agent.ringing",
            agent_id=agent.agent_id,
            customer_id=offer.customer_id,
            extension=agent.extension,
            kind=offer.kind,
            reason=agent.reason,
            caller=offer.callback_number if offer.kind == CALLBACK else call.caller,
            call_data=dict(call.call_data),
        )
        call.record.update(agent_id=agent.agent_id)
        self.ring_seconds = float(offer.ring_timeout_seconds)
        self._ring_agent(agent.extension, auto_answer, "cannot ring agent")

    def _ring_agent(self, target: str, intercom: bool, failure: str) -> None:
        """Dial the agent's phone (with the intercom hint) and time the ring; a failed dial
        is a missed ring."""
        call = self.call
        try:
            leg = call.dial(AGENT, target, call.switch.intercom.headers(target) if intercom else ())
        except pj.Error as error:
            log.warning("call %s: %s %s: %s", call.id, failure, target, error.info())
            self.missed()
            return
        if intercom:
            self.intercom_legs.add(leg.id)
        call.agent = leg
        self.time_ring(leg)

    def time_ring(self, leg: Leg) -> None:
        """Give up on *leg* (408) if it has not answered within the ring timeout.

        The timer holds the leg weakly: a pjsua2 Call that outlives its call keeps its old
        pjsua call id, and when it is finally dropped its destructor clears the callbacks of,
        and hangs up, whichever new call pjsua has given that id meanwhile (ids are reused
        round-robin over the worker's 4 slots: the third bridged call reuses the first's). A
        ring timer that kept the answered leg of call 1 alive for the ring timeout dropped it
        during call 3 and cut call 3's agent off. The leg dies with its conversation instead.
        """
        ringing = weakref.ref(leg)
        self.call.switch.later(self.ring_seconds, lambda: _ring_timeout(ringing))

    def missed(self) -> None:
        """The offered agent did not answer (or could not be rung): next agent, same place."""
        call = self.call
        if call.agent_id is not None:
            call.publish("agent.missed", None, agent_id=call.agent_id, state="not_ready")
        call.agent = None
        call.agent_id = None
        if self.line is not None:
            self.line.agent_missed()

    def requeue(self, queue: str | None = None) -> None:
        """Back in line (a transfer to a queue, or a transfer target that did not answer)."""
        self.routing = False
        self.line = None
        route = self.call.call_data.get("route") or {}
        self.route_to_agent(route.get("skill"), route.get("preferred"), queue=queue)

    def answer_from_page(self) -> None:
        """Answer from the page: ring the agent's phone again with an auto-answer hint."""
        call = self.call
        old = call.agent
        if old is None or old.id in self.intercom_legs:
            return
        if old.state in ("confirmed", "disconnected", "null"):
            return
        old.released = True
        old.end()
        self._ring_agent(old.peer, True, "cannot ring again")


def _ring_timeout(ringing: weakref.ref[Leg]) -> None:
    leg = ringing()
    if leg is not None and leg.state not in ("confirmed", "disconnected"):
        leg.end(408)
