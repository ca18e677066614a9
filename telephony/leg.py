"""One call leg: a pjsua2 Call whose callbacks only note what happened and post it to the loop.

The worker pumps pjsua2 from one thread; a leg's callbacks run inside that pump, so they read
the call's info and post a small closure for the owner (a `Conversation`) to handle after the
pump returns. A REFER is the exception: its answer is due inside the pump, so the owner decides
at once (see `telephony.refer`; pjsua never dials a Refer-To). Media taps hang on each leg
once its audio is active.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import pjsua2 as pj

from telephony.refer import REFUSED
from telephony.tap import IN, OUT, FrameCallback, Tap, TapPump

log = logging.getLogger(__name__)
Post = Callable[[Callable[[], None]], None]

STATE_NAMES = {
    pj.PJSIP_INV_STATE_NULL: "null",
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}
DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733", pj.PJSUA_DTMF_METHOD_SIP_INFO: "info"}
SEND_DTMF_METHODS = {name: value for value, name in DTMF_METHODS.items()}

CUSTOMER, AGENT, CONSULT, MONITOR = "customer", "agent", "consult", "monitor"


class LegOwner(Protocol):
    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None: ...

    def on_leg_media(self, leg: Leg) -> None: ...

    def on_leg_dtmf(self, leg: Leg, digit: str, method: str) -> None: ...

    def on_leg_refer(self, leg: Leg, refer_to: str) -> int:
        """A REFER arrived on *leg*: decide at once (no pjsua2 calls, no I/O), post any work,
        and return its final answer (at least 300)."""
        ...


class QuietOwner:
    """A `LegOwner` that hears nothing and refuses every REFER: the owner of legs that are
    being refused, or whose conversation is over (late callbacks land here and vanish)."""

    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None:
        pass

    def on_leg_media(self, leg: Leg) -> None:
        pass

    def on_leg_dtmf(self, leg: Leg, digit: str, method: str) -> None:
        pass

    def on_leg_refer(self, leg: Leg, refer_to: str) -> int:
        return REFUSED


class Leg(pj.Call):
    """A call leg with a role (customer, agent, consult), its peer, state and taps."""

    def __init__(
        self,
        account: pj.Account,
        post: Post,
        owner: LegOwner,
        leg_id: str,
        role: str,
        peer: str,
        call_id: int = pj.PJSUA_INVALID_ID,
    ) -> None:
        if call_id == pj.PJSUA_INVALID_ID:
            super().__init__(account)
        else:
            super().__init__(account, call_id)
        self.post = post
        self.owner = owner
        self.id = leg_id
        self.role = role
        self.peer = peer
        self.state = "null"
        self.media: pj.AudioMedia | None = None
        self.media_status: int = pj.PJSUA_CALL_MEDIA_NONE
        self.on_hold = False
        self.released = False  # hung up on purpose (transfer): its end does not end the call
        self.sip_call_id: str | None = None
        self.taps: dict[str, Tap] = {}
        self.tap_pump: TapPump | None = None

    # pjsua2 callbacks: read, post, return.
    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        try:
            info = self.getInfo()
        except pj.Error as error:  # the call is already gone in pjsua: it ended
            log.warning("leg %s: no call info in its state callback (%s); ended", self.id,
                        error.reason)
            self._gone()
            return
        self.state = STATE_NAMES.get(info.state, str(info.state))
        self.sip_call_id = info.callIdString
        state, code, reason = self.state, info.lastStatusCode, info.lastReason
        self.post(lambda: self.owner.on_leg_state(self, state, code, reason))

    def _gone(self) -> None:
        """Note the end of a leg whose DISCONNECTED state never reached us; a leg left
        "confirmed" would hold a slot of the worker's capacity for ever."""
        if self.state == "disconnected":
            return
        self.state = "disconnected"
        self.post(lambda: self.owner.on_leg_state(self, "disconnected", 0, "gone"))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        info = self.getInfo()
        for media in info.media:
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            self.media_status = media.status
            if media.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                self.media = self.getAudioMedia(media.index)
            elif media.status in (pj.PJSUA_CALL_MEDIA_NONE, pj.PJSUA_CALL_MEDIA_ERROR):
                self.media = None
            break
        self.post(lambda: self.owner.on_leg_media(self))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        digit, method = prm.digit, DTMF_METHODS.get(prm.method, str(prm.method))
        self.post(lambda: self.owner.on_leg_dtmf(self, digit, method))

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        """A REFER: answered with a final refusal whatever the owner does, because any 2xx
        makes pjsua dial the Refer-To itself (and rebind this leg to that call)."""
        try:
            code = self.owner.on_leg_refer(self, str(prm.dstUri))
        except Exception:  # never let pjsua's default (202 and dial) happen
            log.exception("leg %s: REFER not handled; refused", self.id)
            code = REFUSED
        prm.statusCode = code if code >= 300 else REFUSED

    # Actions, called on the worker's loop.
    @property
    def audio_ready(self) -> bool:
        return self.media is not None and self.media_status == pj.PJSUA_CALL_MEDIA_ACTIVE

    def tap(self, pump: TapPump, callback: FrameCallback | None) -> None:
        """Attach the in-tap (and the out-tap, fed by the bridge) once media is up."""
        if self.media is None:
            return
        if IN not in self.taps:
            self.tap_pump = pump
            self.taps[IN] = pump.acquire(self.id, IN, callback)
            self.taps[OUT] = pump.acquire(self.id, OUT, callback)
        self.media.startTransmit(self.taps[IN])  # again after a re-INVITE: the slot may be new

    def end(self, code: int = 0) -> None:
        if self.state == "disconnected":
            return
        prm = pj.CallOpParam()
        prm.statusCode = code
        try:
            self.hangup(prm)
        except pj.Error as error:  # e.g. "INVITE session already terminated"
            active = False
            with contextlib.suppress(pj.Error):
                active = self.isActive()
            log.warning("leg %s (%s, %s): hangup refused (%s); still active: %s", self.id,
                        self.role, self.state, error.reason, active)
            if not active:
                self._gone()

    def send_dtmf(self, digits: str, method: str) -> None:
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = SEND_DTMF_METHODS[method]
        self.sendDtmf(prm)

    def hold(self) -> None:
        self.on_hold = True
        self.setHold(pj.CallOpParam(True))

    def unhold(self) -> None:
        self.on_hold = False
        prm = pj.CallOpParam(True)
        prm.opt.flag = pj.PJSUA_CALL_UNHOLD
        self.reinvite(prm)

    def drop_taps(self) -> None:
        """Give the taps back to the pump's pool (never destroyed while the clock runs)."""
        if self.media is not None and IN in self.taps:
            with contextlib.suppress(pj.Error):
                self.media.stopTransmit(self.taps[IN])
        if self.tap_pump is not None:
            for tap in self.taps.values():
                self.tap_pump.release(tap)
        self.taps.clear()
        self.media = None
