"""One customer call inside a worker, as a story: legs ring and answer, a flow runs, an agent
is bridged, the first hang-up ends it.

Read top to bottom it is the path of a call: the customer leg rings and is answered, the
`CallFlow` runs (the IVR), `route_to_agent` hands the caller to the agent side
(`telephony.offer`: the line, the offer, ringing the agent), the legs are bridged, hold and
transfers re-wire them (`telephony.transfer`), and the first hang-up ends every leg, ends
the agent's part and closes the record (`telephony.call_record`: CDR and agent moves). All of
it runs on the worker's loop thread, except the `CallControl` actions, which post themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pjsua2 as pj

from ivr.prompts import render_prompt
from store.db import Database
from store.models import CallState, utcnow
from telephony.bridge import Bridge, feed, unfeed
from telephony.call_record import CallRecord
from telephony.callflow.base import CallFlow, FlowContext, FlowFactory
from telephony.events import EventBus
from telephony.intercom import IntercomHints
from telephony.leg import AGENT, CUSTOMER, MONITOR, Leg, QuietOwner
from telephony.monitor import Monitor, request
from telephony.offer import Offering
from telephony.playback import PromptPlayer
from telephony.queueing import RINGING
from telephony.refer import TransferTargets
from telephony.router import CALLBACK, Offer
from telephony.survey import AfterCall
from telephony.tap import TapFrame, TapPump
from telephony.transfer import Transfers

#: What marks a worker's INVITE as a call to a customer's number (the edge strips it from
#: anyone but workers: route STRANGERHEADERS).
OUTBOUND_HEADER = ("X-Centralino-Outbound", "customer")

log = logging.getLogger(__name__)


class Switch(Protocol):
    """What a conversation needs from its worker."""

    account: pj.Account
    db: Database
    name: str
    events: EventBus
    taps: TapPump
    worker_id: int | None
    refer_targets: TransferTargets
    intercom: IntercomHints

    def post(self, action: Callable[[], None]) -> None: ...

    def later(self, delay: float, action: Callable[[], None]) -> None: ...

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None: ...

    def new_leg(self, owner: Conversation, role: str, peer: str) -> Leg: ...

    def has_room(self, legs: int = 1) -> bool: ...

    def resolve(self, target: str) -> str: ...

    def frame_sink(self, frame: TapFrame) -> None: ...

    def finished(self, conversation: Conversation) -> None: ...


class Conversation:
    """One customer call: its legs and bridges, the prompt, the flow, and how it ends."""

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
        self.record = CallRecord(switch, call_id)
        self.customer: Leg | None = None
        self.agent: Leg | None = None
        self.consult: Leg | None = None
        self.bridge: Bridge | None = None
        self.consult_bridge: Bridge | None = None
        self.player: PromptPlayer | None = None
        self.agent_id: int | None = None
        self.after_prompt: Callable[[], None] | None = None
        self.was_bridged = False
        self.ended = False
        self.end_reason = ""
        self.offering = Offering(self)  # the agent side: the line, the offer, the ring
        self.transfers = Transfers(self)  # hold, blind and attended transfers, REFER
        self.monitor: Monitor | None = None  # a supervisor listening, whispering or barging
        self.after_call = AfterCall(self)  # the survey of a caller left by their agent

    # -- bookkeeping -----------------------------------------------------------------------
    def publish(self, kind: str, leg: Leg | None = None, /, **data: Any) -> None:
        self.switch.events.publish(kind, self.id, leg.id if leg else None, **data)

    def set_state(self, state: CallState, **columns: Any) -> None:
        self.state = state
        self.record.state(state, **columns)

    def _adopt(self, leg: Leg) -> Leg:
        self.legs.append(leg)
        self.record.leg_added(leg.id, leg.role, leg.peer)
        return leg

    # -- inbound ---------------------------------------------------------------------------
    def accept(self, leg: Leg, auto_answer: bool) -> Leg:
        """Take the INVITE's leg: write the CDR, say 180 and answer (unless told to wait)."""
        self.record.opened(self.caller, self.dialled)
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
            self.offering.answer_from_page()

    @staticmethod
    def _answer(leg: Leg, code: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        leg.answer(prm)

    # -- outbound (originate) --------------------------------------------------------------
    def originate(
        self, to: str, agent_first: str | None, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Call *to*; with *agent_first*, ring that device first and call *to* once it answers."""
        self.record.opened(self.caller, self.dialled, "outbound")
        if agent_first:
            self.call_data["originate_to"] = to
            self.agent = self.dial(AGENT, agent_first)
        else:
            self.customer = self.dial(CUSTOMER, to, headers)

    def dial(self, role: str, target: str, headers: Sequence[tuple[str, str]] = ()) -> Leg:
        """A new leg calling *target* (extension or URI), with extra SIP *headers*. A customer
        leg is marked outbound: the edge rings a device of ours that has the number, else
        sends the call out through the trunks in priority order (`OUTBOUND_HEADER`)."""
        uri = self.switch.resolve(target)
        leg = self._adopt(self.switch.new_leg(self, role, uri))
        prm = pj.CallOpParam(True)
        if role == CUSTOMER:
            headers = [*headers, OUTBOUND_HEADER]
        for name, value in headers:
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        try:
            leg.makeCall(uri, prm)
        except pj.Error:
            leg.state = "disconnected"
            raise
        return leg

    def monitor_request(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A supervisor's listen / whisper / barge / leave (`telephony.monitor`)."""
        return request(self, data)

    # -- leg events (LegOwner) ---------------------------------------------------------------
    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None:
        if state in ("early", "calling") and leg.role != CUSTOMER and code in (180, 183):
            self.publish("ringing", leg, role=leg.role, peer=leg.peer)
        if state == "confirmed":
            self.record.leg_answered(leg.id, leg.sip_call_id)
            if leg is self.customer:
                self._customer_answered()
            elif leg is self.agent:
                self._agent_answered(leg)
            elif leg is self.consult:
                self.transfers.consult_answered(leg)
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
        if self.monitor is not None:
            self.monitor.on_media(leg)

    def on_leg_dtmf(self, leg: Leg, digit: str, method: str) -> None:
        self.publish("dtmf", leg, digit=digit, method=method, role=leg.role)
        line = self.offering.line
        if leg is self.customer and line is not None and line.on_dtmf(digit):
            return
        if leg is self.customer and self.flow is not None and not self.ended:
            self.flow.on_dtmf(self.control, digit, method)

    def on_leg_refer(self, leg: Leg, refer_to: str) -> int:
        """Inside pjsua's pump: see `telephony.transfer.Transfers.refer`."""
        return self.transfers.refer(leg, refer_to)

    def _on_frame(self, frame: TapFrame) -> None:
        """Tap consumer thread: frames go to the DSP sink and, for the caller, to the flow."""
        self.switch.frame_sink(frame)
        flow = self.flow
        if flow is not None and self.customer is not None and frame.leg_id == self.customer.id:
            flow.on_audio(self.control, frame)

    # -- the customer side ------------------------------------------------------------------
    def _customer_answered(self) -> None:
        self.publish("answered", self.customer, role=CUSTOMER)
        self.set_state(CallState.IVR, answered_at=utcnow())
        if self.direction == "outbound" and self.agent is not None:
            self.bridge_customer_with(self.agent)
            return
        if self.offering.customer_answered():
            return  # a customer-first callback: their agent rings now
        self._maybe_start_flow()

    def _maybe_start_flow(self) -> None:
        leg = self.customer
        if self.flow is not None or self.ended or leg is None or self.agent is not None:
            return
        if self.offering.line is not None and self.offering.line.kind == CALLBACK:
            return  # a callback's customer talks to the agent, not to a flow
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

    # -- the agent side (`telephony.offer`) ---------------------------------------------------
    def call_back(self, offer: Offer, auto_answer: bool) -> None:
        self.offering.call_back(offer, auto_answer)

    def ring_offer(self, offer: Offer, auto_answer: bool) -> None:
        """The router offered an agent (a `telephony.queueing.Line` asks): ring them."""
        self.offering.ring(offer, auto_answer)

    def _agent_answered(self, leg: Leg) -> None:
        line = self.offering.line
        if line is not None:
            line.agent_answered()
        if self.direction == "outbound" and self.customer is None:
            try:
                self.customer = self.dial(CUSTOMER, self.call_data["originate_to"])
            except pj.Error as error:
                log.warning("call %s: cannot call %s: %s", self.id, leg.peer, error.info())
                self.end("customer unreachable")
                return
            if line is not None:  # a callback: the customer's phone does not ring forever
                self.offering.time_ring(self.customer)
            return
        if self.customer is None:
            return
        self.bridge_customer_with(leg)

    def bridge_customer_with(self, leg: Leg) -> None:
        assert self.customer is not None
        self.stop_prompt()
        if self.bridge is not None:
            self.bridge.disconnect()
        self.bridge = Bridge(self.customer, leg)
        self.bridge.connect()
        self.was_bridged = True
        if self.offering.line is not None:
            self.offering.line.callback_bridged()
        agent_id = self.agent_id
        self.set_state(CallState.BRIDGED, bridged_at=utcnow(), call_data=dict(self.call_data))
        if agent_id is not None:
            self.record.agent_bridged(agent_id)
        self.publish("bridged", leg, legs=[self.customer.id, leg.id], agent_id=agent_id)
        self.after_call.bridged()

    # -- keys (hold and transfers are `self.transfers`) ---------------------------------------
    def send_dtmf(self, digits: str, method: str, role: str = CUSTOMER) -> None:
        leg = self.customer if role == CUSTOMER else self.agent
        if leg is None:
            raise ValueError(f"no {role} leg")
        leg.send_dtmf(digits, method)

    # -- the end ----------------------------------------------------------------------------
    def _leg_gone(self, leg: Leg, code: int, reason: str) -> None:
        self.record.leg_ended(leg.id, f"{code} {reason}")
        leg.drop_taps()
        if self.monitor is not None:
            self.monitor.on_gone(leg)  # the supervisor leaving never touches the call
        if leg.released or self.ended or leg.role == MONITOR:
            pass
        elif leg is self.customer and self.offering.customer_gone(code, reason):
            self.end("callback not reached")
        elif leg is self.customer:
            self.end("caller hung up" if leg.state == "disconnected" else reason)
        elif leg is self.consult:
            self.consult = None
            self.consult_bridge = None
            if self.bridge is not None:
                self.bridge.refresh()
        elif leg is self.agent:
            if self.was_bridged and self.bridge is not None:
                if not self.after_call.agent_gone():  # else the caller stays for the survey
                    self.end("agent hung up")
            elif self.offering.line is not None and self.offering.line.state == RINGING:
                self.offering.missed()
            elif self.was_bridged and self._customer_on_line():
                self.transfers.target_missed()  # a transfer target did not answer: in line
            elif self.agent_id is not None:
                self.end("agent hung up")  # a callback's agent, before the customer answered
            elif self.customer is not None and self.customer.state == "confirmed":
                self.agent = None  # a transfer target did not answer: back to the queue
                self.offering.requeue()
            else:
                self.agent = None
                self.end(f"agent leg failed ({code})")
        if all(other.state == "disconnected" for other in self.legs):
            self.switch.finished(self)

    def _customer_on_line(self) -> bool:
        return self.customer is not None and self.customer.state == "confirmed"

    def end(self, reason: str) -> None:
        """Tear down every leg, release the agent, close the CDR; the first reason wins."""
        if self.ended:
            return
        self.ended = True
        self.end_reason = reason
        if self.offering.line is not None:
            self.offering.line.leave()
        self.stop_prompt()
        for bridge in (self.bridge, self.consult_bridge):
            if bridge is not None:
                bridge.disconnect()
        for leg in self.legs:
            leg.end()
        agent_id, agent_state = self.agent_id, None
        if self.after_call.surveying:  # the agent's part ended when they hung up
            agent_state = "wrap_up"
        elif agent_id is not None:  # the worker, not the console, ends the agent's part
            if self.bridge is not None:
                agent_state = "wrap_up"
                self.record.agent_wrap_up(agent_id, reason)
            else:
                agent_state = "available"
                self.record.agent_released(agent_id, reason)
        outcome = (
            "completed"
            if self.was_bridged
            else ("abandoned" if reason == "caller hung up" else reason.split(" (")[0])
        )
        self.record.closed(outcome, self.call_data)
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


_GONE = QuietOwner()  # owns the legs of a conversation that is over


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
        offering = self._conversation.offering
        self._conversation.switch.post(
            lambda: offering.route_to_agent(skill, preferred, customer_id)
        )

    def hang_up(self, reason: str = "flow") -> None:
        self._conversation.switch.post(lambda: self._conversation.end(reason))

    def publish(self, kind: str, **data: Any) -> None:
        self._conversation.publish(kind, None, **data)

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        self._conversation.switch.store(job, then)
