"""Hold and transfers of one call, done by the B2BUA: blind, attended, and the agent phone's REFER.

A blind transfer lets the agent leg go and dials the target (or puts the caller back in a
queue, ``queue:<name>``); an attended one puts the customer aside, dials a consult leg bridged
to the agent, and on `complete` bridges the customer to it. A colleague available at the
target's extension is claimed first (`telephony.transfer_claim`): their desk pops the caller
(``agent.ringing`` of kind ``transfer``) and their state follows the call; a blind target that
rings out goes not ready and the caller goes back in line. The caller's dialog, the CDR and
the taps stay on this worker. A REFER from the bridged agent's phone to a target we know
becomes our blind transfer; any other is refused (`telephony.refer`). Every transfer is listed
in ``call_data["transfers"]``. Runs on the worker's loop, like its `Conversation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pjsua2 as pj

from store.models import utcnow
from telephony.bridge import Bridge
from telephony.leg import AGENT, CONSULT, Leg
from telephony.refer import QUEUE_PREFIX, REFUSED, TAKEN_OVER, ReferRefused
from telephony.transfer_claim import TransferClaim, claim_transfer_target

if TYPE_CHECKING:
    from telephony.conversation import Conversation

log = logging.getLogger(__name__)


class Transfers:
    """Hold, blind and attended transfers, and REFER, for one call."""

    def __init__(self, call: Conversation) -> None:
        self.call = call
        self.consult_target = ""  # what the attended transfer dialled (an extension or URI)

    # -- hold ---------------------------------------------------------------------------------
    def hold(self) -> None:
        call = self.call
        if call.customer is None or call.customer.on_hold:
            return
        if call.bridge is not None:
            call.bridge.disconnect()
        call.customer.hold()
        call.call_data.setdefault("holds", []).append({"held_at": utcnow().isoformat()})
        call.publish("hold", call.customer)

    def unhold(self) -> None:
        call = self.call
        if call.customer is None or not call.customer.on_hold:
            return
        call.customer.unhold()
        holds = call.call_data.get("holds") or [{}]
        holds[-1]["resumed_at"] = utcnow().isoformat()  # the analytics' hold time (docs)
        if call.bridge is not None:
            call.bridge.refresh()
        call.publish("unhold", call.customer)

    # -- transfers ------------------------------------------------------------------------------
    def transfer(self, to: str, mode: str, via: str = "api") -> None:
        """Blind (to an extension, URI or ``queue:<name>``) or attended; *via* says who asked
        (``api``: the console; ``refer``: the agent's phone), in the event and the CDR."""
        call = self.call
        if call.customer is None or call.ended:
            raise ValueError("no customer leg to transfer")
        if mode in ("blind", "attended"):
            transfers = call.call_data.setdefault("transfers", [])
            transfers.append({"to": to, "mode": mode, "via": via, "at": utcnow().isoformat()})
        if to.startswith(QUEUE_PREFIX):
            self.drop_agent("transferred")
            call.publish("transferred", None, mode="blind", to=to, via=via)
            call.offering.requeue(to.removeprefix(QUEUE_PREFIX) or None)
        elif mode == "blind":
            from_agent_id = call.agent_id
            self.drop_agent("transferred")
            call.publish("transferred", None, mode="blind", to=to, via=via)
            self._claim(to, from_agent_id, lambda claim: self._ring_target(to, claim))
        elif mode == "attended":
            if call.agent is None or call.consult is not None:
                raise ValueError("attended transfer needs a bridged agent and no other consult")
            if call.bridge is not None:
                call.bridge.disconnect()
            call.consult = call.dial(CONSULT, to)
            self.consult_target = to
            call.publish("transferred", call.consult, mode="attended", stage="consulting", to=to)
        else:
            raise ValueError(f"unknown transfer mode {mode!r}; use blind or attended")

    def consult_answered(self, leg: Leg) -> None:
        call = self.call
        if call.agent is not None:
            call.consult_bridge = Bridge(call.agent, leg)
            call.consult_bridge.connect()

    def complete_transfer(self) -> None:
        """Hand the caller to the consulted colleague (claimed first, for their desk's pop)."""
        call = self.call
        consult = call.consult
        if consult is None or consult.state != "confirmed":
            raise ValueError("no answered consultation to complete")
        self._claim(self.consult_target, call.agent_id, lambda c: self._hand_over(consult, c))

    def _hand_over(self, consult: Leg, claim: TransferClaim | None) -> None:
        call = self.call
        if call.ended or consult is not call.consult or consult.state != "confirmed":
            if claim is not None:
                call.record.agent_released(claim.agent_id, "the consultation ended first")
            return
        self._unbridge_consultation()
        self.drop_agent("transferred")
        call.consult = None
        consult.role = AGENT
        call.agent = consult
        call.publish("transferred", consult, mode="attended", stage="completed", to=consult.peer)
        if claim is not None:
            self._pop(claim, self.consult_target)
        call.bridge_customer_with(consult)

    def cancel_transfer(self) -> None:
        call = self.call
        consult, call.consult = call.consult, None
        self._unbridge_consultation()
        if consult is not None:
            consult.released = True
            consult.end()
        if call.bridge is not None:
            call.bridge.refresh()
        call.publish("transferred", None, mode="attended", stage="cancelled")

    # -- the colleague on the other end (`telephony.transfer_claim`) -------------------------
    def _claim(
        self, to: str, from_agent_id: int | None, then: Callable[[TransferClaim | None], None]
    ) -> None:
        """Claim the colleague at extension *to* on the store thread, then *then* on the loop
        (at once with None for a URI: nobody's desk)."""
        call = self.call
        if not to or to.startswith(("sip:", "sips:", "tel:")):
            then(None)
            return
        db, call_id = call.switch.db, call.id
        call.switch.store(lambda: claim_transfer_target(db, to, call_id, from_agent_id), then)

    def _pop(self, claim: TransferClaim, extension: str) -> None:
        """The claimed colleague's desk shows the caller (the console follows ``agent.ringing``)."""
        call = self.call
        call.agent_id = claim.agent_id
        call.call_data["agent_reason"] = claim.reason
        call.publish(
            "agent.ringing",
            agent_id=claim.agent_id,
            customer_id=call.call_data.get("customer_id"),
            extension=extension,
            kind="transfer",
            reason=claim.reason,
            caller=call.caller,
            call_data=dict(call.call_data),
        )
        call.record.update(agent_id=claim.agent_id)

    def _ring_target(self, to: str, claim: TransferClaim | None) -> None:
        """The blind transfer's dial, once the claim is known; the ring times out like an
        offer's. A dial that fails puts the caller back in line."""
        call = self.call
        if call.ended or call.customer is None or call.agent is not None:
            if claim is not None:
                call.record.agent_released(claim.agent_id, "the call ended before the transfer")
            return
        if claim is not None:
            self._pop(claim, to)
        intercom = claim is not None and claim.auto_answer
        try:
            call.agent = call.dial(AGENT, to, call.switch.intercom.headers(to) if intercom else ())
        except pj.Error as error:
            log.warning("call %s: transfer to %s failed: %s", call.id, to, error.info())
            self.target_missed()
            return
        call.offering.time_ring(call.agent)

    def target_missed(self) -> None:
        """A blind transfer's target did not answer (or could not be dialled): a claimed
        colleague goes not ready, the caller goes back in line."""
        call = self.call
        if call.agent_id is not None:
            call.publish("agent.missed", None, agent_id=call.agent_id, state="not_ready")
            call.record.agent_not_answered(call.agent_id)
        call.agent = None
        call.agent_id = None
        call.offering.requeue()

    def _unbridge_consultation(self) -> None:
        bridge, self.call.consult_bridge = self.call.consult_bridge, None
        if bridge is not None:
            bridge.disconnect()

    def drop_agent(self, why: str) -> None:
        """Let the current agent go (transfer): their leg ends without ending the call."""
        call = self.call
        old, call.agent = call.agent, None
        if call.bridge is not None:
            call.bridge.disconnect()
            call.bridge = None
        if old is not None:
            old.released = True
            call.record.leg_ended(old.id, why)  # its CDR reason
            old.end()
        if call.agent_id is not None:
            call.record.agent_wrap_up(call.agent_id, why)
            call.agent_id = None

    # -- REFER ------------------------------------------------------------------------------------
    def refer(self, leg: Leg, refer_to: str) -> int:
        """Inside pjsua's pump: a REFER from the agent's leg to an allowed target becomes our
        blind transfer (posted); any other is refused. See `telephony.refer`."""
        call = self.call
        try:
            if leg.role != AGENT or leg is not call.agent or call.ended:
                raise ReferRefused(f"REFER from the {leg.role} leg")
            if call.bridge is None or call.consult is not None:
                raise ReferRefused("the agent is not bridged with the caller alone")
            to = call.switch.refer_targets.target(refer_to)
        except ReferRefused as refusal:
            reason = str(refusal)
            call.switch.post(lambda: self._refer_refused(leg, refer_to, reason))
            return REFUSED
        call.switch.post(lambda: self._transfer_by_refer(leg, to))
        return TAKEN_OVER

    def _refer_refused(self, leg: Leg, refer_to: str, reason: str) -> None:
        log.warning(
            "event=refer.refused call=%s leg=%s role=%s refer_to=%r reason=%r",
            self.call.id,
            leg.id,
            leg.role,
            refer_to[:200],
            reason,
        )
        self.call.publish("transfer.refused", leg, role=leg.role, via="refer", reason=reason)

    def _transfer_by_refer(self, leg: Leg, to: str) -> None:
        call = self.call
        if leg is not call.agent or call.ended:
            self._refer_refused(leg, to, "the agent's leg changed before the transfer")
            return
        self.transfer(to, "blind", via="refer")
