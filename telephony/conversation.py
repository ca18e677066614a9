"""One customer call inside a worker: its legs, bridge, prompt, flow, agent offer and CDR.

Read top to bottom it is the path of a call: the customer leg rings and is answered, the
`CallFlow` runs (greeting, later the IVR), `route_to_agent` puts the caller in line
(`telephony.queueing`) and rings the agent offered to them through the edge, the legs are
bridged, hold/transfer re-wire them, and the first hang-up ends every leg, releases the agent
and closes the CDR. Everything here runs on the worker's loop thread, except the `CallControl`
actions, which post themselves there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pjsua2 as pj

from ivr.prompts import render_prompt
from store import agents
from store.db import Database
from store.models import CallState, utcnow
from telephony import cdr
from telephony.bridge import Bridge, feed, unfeed
from telephony.callflow.base import CallFlow, FlowContext, FlowFactory
from telephony.events import EventBus
from telephony.leg import AGENT, CONSULT, CUSTOMER, Leg
from telephony.playback import PromptPlayer
from telephony.queueing import RINGING, Line
from telephony.refer import REFUSED, TAKEN_OVER, ReferRefused, TransferTargets
from telephony.router import CALLBACK, DEFAULT_RING_TIMEOUT_SECONDS, Offer
from telephony.tap import TapFrame, TapPump

log = logging.getLogger(__name__)

QUEUE_PREFIX = "queue:"
# An intercom hint that desk phones honour by answering at once (Polycom/Yealink/Snom alike).
AUTO_ANSWER_HEADERS = (
    ("Call-Info", "<sip:centralino>;answer-after=0"),
    ("Alert-Info", "<http://centralino/auto>;info=alert-autoanswer"),
)


class Switch(Protocol):
    """What a conversation needs from its worker."""

    account: pj.Account
    db: Database
    name: str
    events: EventBus
    taps: TapPump
    worker_id: int | None
    refer_targets: TransferTargets

    def post(self, action: Callable[[], None]) -> None: ...

    def later(self, delay: float, action: Callable[[], None]) -> None: ...

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None: ...

    def new_leg(self, owner: Conversation, role: str, peer: str) -> Leg: ...

    def has_room(self, legs: int = 1) -> bool: ...

    def resolve(self, target: str) -> str: ...

    def frame_sink(self, frame: TapFrame) -> None: ...

    def finished(self, conversation: Conversation) -> None: ...


class Conversation:
    def __init__(
        self,
        switch: Switch,
        call_id: str,
        caller: str,
        dialled: str,
        flow_factory: FlowFactory,
        context: FlowContext,
        direction: str = "inbound",
    ) -> None:
        self.switch = switch
        self.id = call_id
        self.caller = caller
        self.dialled = dialled
        self.direction = direction
        self.flow_factory = flow_factory
        self.context = context
        self.flow: CallFlow | None = None
        self.call_data: dict[str, Any] = {}
        self.state = CallState.RINGING
        self.legs: list[Leg] = []
        self.rows: dict[str, int] = {}  # leg id -> call_legs.id, written by the store thread
        self.customer: Leg | None = None
        self.agent: Leg | None = None
        self.consult: Leg | None = None
        self.bridge: Bridge | None = None
        self.consult_bridge: Bridge | None = None
        self.player: PromptPlayer | None = None
        self.agent_id: int | None = None
        self.routing = False
        self.line: Line | None = None
        self.intercom_legs: set[str] = set()  # legs dialled with the auto-answer hint
        self.after_prompt: Callable[[], None] | None = None
        self.ring_seconds = float(DEFAULT_RING_TIMEOUT_SECONDS)
        self.was_bridged = False
        self.ended = False
        self.end_reason = ""

    # -- bookkeeping -----------------------------------------------------------------------
    def publish(self, kind: str, leg: Leg | None = None, /, **data: Any) -> None:
        self.switch.events.publish(kind, self.id, leg.id if leg else None, **data)

    def _set_state(self, state: CallState, **columns: Any) -> None:
        self.state = state
        db, call_id = self.switch.db, self.id
        self.switch.store(lambda: cdr.update_call(db, call_id, state=state, **columns))

    def _open_leg(self, role: str, peer: str) -> Leg:
        return self._adopt(self.switch.new_leg(self, role, peer))

    def _adopt(self, leg: Leg) -> Leg:
        self.legs.append(leg)
        role, peer, leg_id, rows = leg.role, leg.peer, leg.id, self.rows
        db, cid = self.switch.db, self.id

        def write() -> None:
            rows[leg_id] = cdr.add_leg(db, cid, role, peer)

        self.switch.store(write)  # store jobs never hold a pjsua2 object: they die off-loop
        return leg

    def _leg_row(self, leg: Leg, job: Callable[[Database, int], None]) -> None:
        db, leg_id, rows = self.switch.db, leg.id, self.rows
        self.switch.store(lambda: job(db, rows[leg_id]) if leg_id in rows else None)

    # -- inbound ---------------------------------------------------------------------------
    def accept(self, leg: Leg, auto_answer: bool) -> Leg:
        """Take the INVITE's leg: write the CDR, say 180 and answer (unless told to wait)."""
        db, cid, worker_id = self.switch.db, self.id, self.switch.worker_id
        self.switch.store(lambda: cdr.open_call(db, cid, self.caller, self.dialled, worker_id))
        self.customer = self._adopt(leg)
        self._answer(self.customer, 180)
        self.publish("ringing", self.customer, caller=self.caller, dialled=self.dialled)
        if auto_answer:
            self.answer()
        return self.customer

    def answer(self) -> None:
        """Answer the ringing customer leg, else the agent's ringing phone (desk phones too)."""
        if self.customer is not None and self.customer.state not in ("confirmed", "disconnected"):
            self._answer(self.customer, 200)
        elif self.agent is not None:
            self._answer_agent_leg()

    @staticmethod
    def _answer(leg: Leg, code: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        leg.answer(prm)

    # -- outbound (originate) --------------------------------------------------------------
    def originate(self, to: str, agent_first: str | None) -> None:
        """Call *to*; with *agent_first*, ring that device first and call *to* once it answers."""
        db, cid, worker_id = self.switch.db, self.id, self.switch.worker_id
        self.switch.store(
            lambda: cdr.open_call(db, cid, self.caller, self.dialled, worker_id, "outbound")
        )
        if agent_first:
            self.call_data["originate_to"] = to
            self.agent = self._dial(AGENT, agent_first)
        else:
            self.customer = self._dial(CUSTOMER, to)

    def _dial(self, role: str, target: str, intercom: bool = False) -> Leg:
        uri = self.switch.resolve(target)
        leg = self._open_leg(role, uri)
        prm = pj.CallOpParam(True)
        if intercom:
            self.intercom_legs.add(leg.id)
            for name, value in AUTO_ANSWER_HEADERS:
                header = pj.SipHeader()
                header.hName, header.hValue = name, value
                prm.txOption.headers.append(header)
        try:
            leg.makeCall(uri, prm)
        except pj.Error:
            leg.state = "disconnected"
            raise
        return leg

    # -- leg events (LegOwner) ---------------------------------------------------------------
    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None:
        if state in ("early", "calling") and leg.role != CUSTOMER and code in (180, 183):
            self.publish("ringing", leg, role=leg.role, peer=leg.peer)
        if state == "confirmed":
            sip_call_id = leg.sip_call_id
            self._leg_row(leg, lambda db, row: cdr.leg_answered(db, row, sip_call_id))
            if leg is self.customer:
                self._customer_answered()
            elif leg is self.agent:
                self._agent_answered(leg)
            elif leg is self.consult:
                self._consult_answered(leg)
        elif state == "disconnected":
            self._leg_gone(leg, code, reason)

    def on_leg_media(self, leg: Leg) -> None:
        if leg.media is not None:
            leg.tap(self.switch.taps, self._on_frame)
        if leg is self.customer:
            if self.player is not None and leg.media is not None:
                feed(self.player, leg)
            self._maybe_start_flow()
        for bridge in (self.bridge, self.consult_bridge):
            if bridge is not None and leg in bridge.legs():
                bridge.refresh()

    def on_leg_dtmf(self, leg: Leg, digit: str, method: str) -> None:
        self.publish("dtmf", leg, digit=digit, method=method, role=leg.role)
        if leg is self.customer and self.line is not None and self.line.on_dtmf(digit):
            return
        if leg is self.customer and self.flow is not None and not self.ended:
            self.flow.on_dtmf(self.control, digit, method)

    def on_leg_refer(self, leg: Leg, refer_to: str) -> int:
        """Inside pjsua's pump: a REFER from the agent's leg to an allowed target becomes our
        blind transfer (posted); any other is refused. See `telephony.refer`."""
        try:
            if leg.role != AGENT or leg is not self.agent or self.ended:
                raise ReferRefused(f"REFER from the {leg.role} leg")
            if self.bridge is None or self.consult is not None:
                raise ReferRefused("the agent is not bridged with the caller alone")
            to = self.switch.refer_targets.target(refer_to)
        except ReferRefused as refusal:
            reason = str(refusal)
            self.switch.post(lambda: self._refer_refused(leg, refer_to, reason))
            return REFUSED
        self.switch.post(lambda: self._transfer_by_refer(leg, to))
        return TAKEN_OVER

    def _refer_refused(self, leg: Leg, refer_to: str, reason: str) -> None:
        log.warning(
            "event=refer.refused call=%s leg=%s role=%s refer_to=%r reason=%r",
            self.id,
            leg.id,
            leg.role,
            refer_to[:200],
            reason,
        )
        self.publish("transfer.refused", leg, role=leg.role, via="refer", reason=reason)

    def _transfer_by_refer(self, leg: Leg, to: str) -> None:
        if leg is not self.agent or self.ended:
            self._refer_refused(leg, to, "the agent's leg changed before the transfer")
            return
        try:
            self.transfer(to, "blind", via="refer")
        except pj.Error as error:  # the agent is already let go: the caller waits in line
            log.warning("call %s: transfer to %s failed: %s", self.id, to, error.info())
            self.agent = None
            self._requeue()

    def _on_frame(self, frame: TapFrame) -> None:
        """Tap consumer thread: frames go to the DSP sink and, for the caller, to the flow."""
        self.switch.frame_sink(frame)
        flow = self.flow
        if flow is not None and self.customer is not None and frame.leg_id == self.customer.id:
            flow.on_audio(self.control, frame)

    # -- the customer side ------------------------------------------------------------------
    def _customer_answered(self) -> None:
        self.publish("answered", self.customer, role=CUSTOMER)
        self._set_state(CallState.IVR, answered_at=utcnow())
        if self.direction == "outbound" and self.agent is not None:
            self._bridge_customer_with(self.agent)
            return
        self._maybe_start_flow()

    def _maybe_start_flow(self) -> None:
        leg = self.customer
        if self.flow is not None or self.ended or leg is None or self.agent is not None:
            return
        if leg.state != "confirmed" or not leg.audio_ready:
            return  # media can be ready before CONFIRMED, or the other way round
        self.flow = self.flow_factory(self.context)
        self.flow.on_answered(self.control)

    def play(self, wav: Path, then: Callable[[], None] | None = None) -> None:
        """Play *wav* to the caller; at its end *then* runs (else the flow hears of it)."""
        self.stop_prompt()
        if self.customer is None or self.ended:
            return
        self.after_prompt = then
        self.player = PromptPlayer(wav, self.switch.post, self._prompt_finished)
        if self.customer.media is not None:
            feed(self.player, self.customer)

    def _prompt_finished(self) -> None:
        if self.player is None or not self.player.done:
            return
        then, self.after_prompt = self.after_prompt, None
        self.stop_prompt()
        if then is not None:
            then()
        elif self.flow is not None and not self.ended:
            self.flow.on_prompt_finished(self.control)

    def stop_prompt(self) -> None:
        player, self.player = self.player, None
        if player is not None and self.customer is not None:
            unfeed(player, self.customer)

    # -- the agent side: wait in line, ring the offered agent --------------------------------
    def route_to_agent(
        self,
        skill: str | None = None,
        preferred: list[int] | None = None,
        customer_id: int | None = None,
        queue: str | None = None,
    ) -> None:
        """Put the caller in line: *queue*, else the flow's ``call_data["queue"]``, else the
        support number's queue; see `telephony.queueing.Line`."""
        if self.ended or self.routing:
            return
        self.routing = True
        self.call_data.setdefault("route", {"skill": skill, "preferred": preferred})
        if customer_id is not None:
            self.call_data["customer_id"] = customer_id
            db, cid = self.switch.db, self.id
            self.switch.store(lambda: cdr.update_call(db, cid, customer_id=customer_id))
        self._set_state(CallState.QUEUED)
        context = self.context
        queue = queue or self.call_data.get("queue") or context.queue
        self.line = Line(self, queue, context.locale, context.prompt_dir)
        priority = self.call_data.get("priority")  # a flow may set it (e.g. an outage line)
        self.line.join(
            self.caller,
            self.call_data.get("customer_id"),
            skill,
            preferred,
            priority if isinstance(priority, int) else None,
        )

    def call_back(self, offer: Offer, auto_answer: bool) -> None:
        """Place a claimed callback: ring the agent (same screen pop), then call the customer."""
        db, cid, worker_id = self.switch.db, self.id, self.switch.worker_id
        customer_id = offer.customer_id
        self.switch.store(
            lambda: cdr.open_call(db, cid, self.caller, self.dialled, worker_id, "outbound")
        )
        if customer_id is not None:
            self.switch.store(lambda: cdr.update_call(db, cid, customer_id=customer_id))
        self.call_data.update(
            kind=CALLBACK,
            customer_id=customer_id,
            callback_number=offer.callback_number,
            requested_on_call=offer.call_id,
            originate_to=offer.callback_number,
        )
        self.routing = True
        self.line = Line.for_callback(self, offer, self.context.prompt_dir)
        self.ring_offer(offer, auto_answer)

    def ring_offer(self, offer: Offer, auto_answer: bool) -> None:
        """Ring the agent the router offered (screen pop first); the ring times out."""
        agent = offer.agent
        self.agent_id = agent.agent_id
        self.call_data["agent_reason"] = agent.reason
        self.publish(
            "agent.ringing",
            agent_id=agent.agent_id,
            customer_id=offer.customer_id,
            extension=agent.extension,
            kind=offer.kind,
            reason=agent.reason,
            caller=offer.callback_number if offer.kind == CALLBACK else self.caller,
            call_data=dict(self.call_data),
        )
        db, cid, agent_id = self.switch.db, self.id, agent.agent_id
        self.switch.store(lambda: cdr.update_call(db, cid, agent_id=agent_id))
        self.ring_seconds = float(offer.ring_timeout_seconds)
        try:
            self.agent = self._dial(AGENT, agent.extension, intercom=auto_answer)
        except pj.Error as error:
            log.warning("call %s: cannot ring agent %s: %s", self.id, agent.extension, error.info())
            self._agent_missed()
            return
        self._time_ring(self.agent)

    def _time_ring(self, leg: Leg) -> None:
        self.switch.later(self.ring_seconds, lambda: self._ring_timeout(leg))

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.state not in ("confirmed", "disconnected"):
            leg.end(408)

    def _agent_missed(self) -> None:
        """The offered agent did not answer (or could not be rung): next agent, same place."""
        if self.agent_id is not None:
            self.publish("agent.missed", None, agent_id=self.agent_id, state="not_ready")
        self.agent = None
        self.agent_id = None
        if self.line is not None:
            self.line.agent_missed()

    def _requeue(self, queue: str | None = None) -> None:
        """Back in line (a transfer to a queue, or a transfer target that did not answer)."""
        self.routing = False
        self.line = None
        route = self.call_data.get("route") or {}
        self.route_to_agent(route.get("skill"), route.get("preferred"), queue=queue)

    def _answer_agent_leg(self) -> None:
        """Answer from the page: ring the agent's phone again with an auto-answer hint."""
        old = self.agent
        if old is None or old.id in self.intercom_legs:
            return
        if old.state in ("confirmed", "disconnected", "null"):
            return
        old.released = True
        old.end()
        try:
            self.agent = self._dial(AGENT, old.peer, intercom=True)
        except pj.Error as error:
            log.warning("call %s: cannot ring %s again: %s", self.id, old.peer, error.info())
            self._agent_missed()
            return
        self._time_ring(self.agent)

    def _agent_answered(self, leg: Leg) -> None:
        if self.line is not None:
            self.line.agent_answered()
        if self.direction == "outbound" and self.customer is None:
            try:
                self.customer = self._dial(CUSTOMER, self.call_data["originate_to"])
            except pj.Error as error:
                log.warning("call %s: cannot call %s: %s", self.id, leg.peer, error.info())
                self.end("customer unreachable")
                return
            if self.line is not None:  # a callback: the customer's phone does not ring forever
                self._time_ring(self.customer)
            return
        if self.customer is None:
            return
        self._bridge_customer_with(leg)

    def _bridge_customer_with(self, leg: Leg) -> None:
        assert self.customer is not None
        self.stop_prompt()
        if self.bridge is not None:
            self.bridge.disconnect()
        self.bridge = Bridge(self.customer, leg)
        self.bridge.connect()
        self.was_bridged = True
        agent_id, cid, db = self.agent_id, self.id, self.switch.db
        self._set_state(CallState.BRIDGED, bridged_at=utcnow(), call_data=dict(self.call_data))
        if agent_id is not None:
            self.switch.store(lambda: agents.bridge(db, agent_id, cid))
        self.publish("bridged", leg, legs=[self.customer.id, leg.id], agent_id=agent_id)

    # -- hold and transfer ------------------------------------------------------------------
    def hold(self) -> None:
        if self.customer is None or self.customer.on_hold:
            return
        if self.bridge is not None:
            self.bridge.disconnect()
        self.customer.hold()
        self.publish("hold", self.customer)

    def unhold(self) -> None:
        if self.customer is None or not self.customer.on_hold:
            return
        self.customer.unhold()
        if self.bridge is not None:
            self.bridge.refresh()
        self.publish("unhold", self.customer)

    def transfer(self, to: str, mode: str, via: str = "api") -> None:
        """Blind (to an extension, URI or ``queue:<name>``) or attended; *via* says who asked
        (``api``: the console; ``refer``: the agent's phone), in the event and the CDR."""
        if self.customer is None or self.ended:
            raise ValueError("no customer leg to transfer")
        if mode in ("blind", "attended"):
            transfers = self.call_data.setdefault("transfers", [])
            transfers.append({"to": to, "mode": mode, "via": via, "at": utcnow().isoformat()})
        if to.startswith(QUEUE_PREFIX):
            self._drop_agent("transferred")
            self.publish("transferred", None, mode="blind", to=to, via=via)
            self._requeue(to.removeprefix(QUEUE_PREFIX) or None)
        elif mode == "blind":
            self._drop_agent("transferred")
            self.agent = self._dial(AGENT, to)
            self.publish("transferred", self.agent, mode="blind", to=self.agent.peer, via=via)
        elif mode == "attended":
            if self.agent is None or self.consult is not None:
                raise ValueError("attended transfer needs a bridged agent and no other consult")
            if self.bridge is not None:
                self.bridge.disconnect()
            self.consult = self._dial(CONSULT, to)
            self.publish("transferred", self.consult, mode="attended", stage="consulting", to=to)
        else:
            raise ValueError(f"unknown transfer mode {mode!r}; use blind or attended")

    def _consult_answered(self, leg: Leg) -> None:
        if self.agent is not None:
            self.consult_bridge = Bridge(self.agent, leg)
            self.consult_bridge.connect()

    def complete_transfer(self) -> None:
        consult = self.consult
        if consult is None or consult.state != "confirmed":
            raise ValueError("no answered consultation to complete")
        if self.consult_bridge is not None:
            self.consult_bridge.disconnect()
            self.consult_bridge = None
        self._drop_agent("transferred")
        self.consult = None
        consult.role = AGENT
        self.agent = consult
        self._bridge_customer_with(consult)
        self.publish("transferred", consult, mode="attended", stage="completed", to=consult.peer)

    def cancel_transfer(self) -> None:
        consult, self.consult = self.consult, None
        if self.consult_bridge is not None:
            self.consult_bridge.disconnect()
            self.consult_bridge = None
        if consult is not None:
            consult.released = True
            consult.end()
        if self.bridge is not None:
            self.bridge.refresh()
        self.publish("transferred", None, mode="attended", stage="cancelled")

    def _drop_agent(self, why: str) -> None:
        """Let the current agent go (transfer): their leg ends without ending the call."""
        old, self.agent = self.agent, None
        if self.bridge is not None:
            self.bridge.disconnect()
            self.bridge = None
        if old is not None:
            old.released = True
            self._leg_row(old, lambda db, row: cdr.leg_ended(db, row, why))  # its CDR reason
            old.end()
        if self.agent_id is not None:
            agent_id, db = self.agent_id, self.switch.db
            self.switch.store(lambda: agents.wrap_up(db, agent_id, why))
            self.agent_id = None

    def send_dtmf(self, digits: str, method: str, role: str = CUSTOMER) -> None:
        leg = self.customer if role == CUSTOMER else self.agent
        if leg is None:
            raise ValueError(f"no {role} leg")
        leg.send_dtmf(digits, method)

    # -- the end ----------------------------------------------------------------------------
    def _leg_gone(self, leg: Leg, code: int, reason: str) -> None:
        self._leg_row(leg, lambda db, row: cdr.leg_ended(db, row, f"{code} {reason}"))
        leg.drop_taps()
        if leg.released or self.ended:
            pass
        elif leg is self.customer:
            self.end("caller hung up" if leg.state == "disconnected" else reason)
        elif leg is self.consult:
            self.consult = None
            self.consult_bridge = None
            if self.bridge is not None:
                self.bridge.refresh()
        elif leg is self.agent:
            if self.was_bridged and self.bridge is not None:
                self.end("agent hung up")
            elif self.line is not None and self.line.state == RINGING:
                self._agent_missed()
            elif self.agent_id is not None:
                self.end("agent hung up")  # a callback's agent, before the customer answered
            elif self.customer is not None and self.customer.state == "confirmed":
                self.agent = None  # a transfer target did not answer: back to the queue
                self._requeue()
            else:
                self.agent = None
                self.end(f"agent leg failed ({code})")
        if all(other.state == "disconnected" for other in self.legs):
            self.switch.finished(self)

    def end(self, reason: str) -> None:
        """Tear down every leg, release the agent, close the CDR; the first reason wins."""
        if self.ended:
            return
        self.ended = True
        self.end_reason = reason
        if self.line is not None:
            self.line.leave()
        self.stop_prompt()
        for bridge in (self.bridge, self.consult_bridge):
            if bridge is not None:
                bridge.disconnect()
        for leg in self.legs:
            leg.end()
        db, cid = self.switch.db, self.id
        agent_id, agent_state = self.agent_id, None
        if agent_id is not None:  # the worker, not the console, ends the agent's part
            had_call = self.bridge is not None
            agent_state = "wrap_up" if had_call else "available"
            after = agents.wrap_up if had_call else agents.release
            self.switch.store(lambda: after(db, agent_id, reason))
        outcome = (
            "completed"
            if self.was_bridged
            else ("abandoned" if reason == "caller hung up" else reason.split(" (")[0])
        )
        data = dict(self.call_data)
        self.switch.store(lambda: cdr.update_call(db, cid, call_data=data))
        self.switch.store(lambda: cdr.close_call(db, cid, outcome))
        self.state = CallState.ENDED
        ending = {"reason": reason, "outcome": outcome, "agent_state": agent_state}
        self.publish("ended", None, agent_id=agent_id, **ending)
        if self.flow is not None:
            self.flow.on_ended(self.control, reason)
        if all(leg.state == "disconnected" for leg in self.legs):
            self.switch.finished(self)

    def dispose(self) -> None:
        """Break the conversation <-> leg reference cycles so the pjsua2 Calls die right here,
        on the loop thread, by reference count (a garbage-collector pass on another thread,
        or after ``libDestroy``, would abort the process)."""
        self.stop_prompt()
        for leg in self.legs:
            leg.drop_taps()
            leg.owner = _GONE
        self.legs.clear()
        self.customer = self.agent = self.consult = None
        self.bridge = self.consult_bridge = None
        self.flow = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": str(self.state),
            "caller": self.caller,
            "dialled": self.dialled,
            "direction": self.direction,
            "agent_id": self.agent_id,
            "legs": [
                {"id": leg.id, "role": leg.role, "peer": leg.peer, "state": leg.state}
                for leg in self.legs
            ],
            "call_data": self.call_data,
        }

    @property
    def control(self) -> FlowControl:
        return FlowControl(self)


class _Gone:
    """The owner of legs whose conversation is over: late callbacks land here and vanish."""

    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None:
        pass

    def on_leg_media(self, leg: Leg) -> None:
        pass

    def on_leg_dtmf(self, leg: Leg, digit: str, method: str) -> None:
        pass

    def on_leg_refer(self, leg: Leg, refer_to: str) -> int:
        return REFUSED


_GONE = _Gone()


class FlowControl:
    """The `CallControl` a flow gets: each action posts itself to the worker's loop."""

    def __init__(self, conversation: Conversation) -> None:
        self._conversation = conversation
        self.call_data = conversation.call_data

    def play(self, wav: Path) -> None:
        self._conversation.switch.post(lambda: self._conversation.play(wav))

    def stop_prompt(self) -> None:
        self._conversation.switch.post(self._conversation.stop_prompt)

    def render(self, text: str) -> Path:
        context = self._conversation.context
        return render_prompt(text, context.locale, context.prompt_dir)

    def route_to_agent(
        self,
        skill: str | None = None,
        preferred: list[int] | None = None,
        customer_id: int | None = None,
    ) -> None:
        conversation = self._conversation
        conversation.switch.post(lambda: conversation.route_to_agent(skill, preferred, customer_id))

    def hang_up(self, reason: str = "flow") -> None:
        self._conversation.switch.post(lambda: self._conversation.end(reason))

    def publish(self, kind: str, **data: Any) -> None:
        self._conversation.publish(kind, None, **data)
