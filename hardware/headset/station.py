"""The agent's headset as a telephone: registered at the edge as the agent's device, it rings,
answers (by a button, a command, or at once when the INVITE asks for it), places calls, mutes,
sets the volume, keeps the headset's lamps in step and tells the console how it stands.

One loop thread owns pjsua2 (as in the switch: ``threadCnt = 0``, pump ``libHandleEvents``):
pjsua2 callbacks, HID buttons, typed commands and timers all `post` closures to it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj

from hardware.headset.bridge import AudioBridge
from hardware.headset.events import Events
from hardware.headset.report import HeadsetState, StateReporter
from hardware.headset.sip import CallPort, HeadsetAccount, HeadsetCall
from hardware.headset.sound import SoundCard
from hardware.hid.device import TelephonyDevice
from hardware.hid.telephony import Button, Lamps
from telephony.endpoint import Endpoint, start_endpoint, stop_endpoint

log = logging.getLogger(__name__)

#: Exit codes, as `centralino headset --help` lists them.
EXIT_REFUSED, EXIT_UNREACHABLE = 3, 4
#: State reports: each second on a call (levels move), rarely when idle; at once on a change.
REPORT_SECONDS, IDLE_REPORT_SECONDS = 1.0, 15.0
VOLUME_STEP = 10


class StationError(RuntimeError):
    """Registration failed; `code` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Registration:
    extension: str
    password: str
    server: str  # host[:port] of the edge
    domain: str  # the SIP domain of the AOR
    address: str  # local address for SIP and RTP
    sip_port: int = 0
    rtp_port: int = 40000


class Station:
    def __init__(self, registration: Registration, bridge: AudioBridge, sound: SoundCard,
                 events: Events, buttons: TelephonyDevice | None = None,
                 reporter: StateReporter | None = None, auto_answer: bool = False) -> None:
        self.registration = registration
        self.bridge = bridge
        self.sound = sound
        self.events = events
        self.buttons = buttons
        self.reporter = reporter
        self.auto_answer = auto_answer
        self.volume = 100
        self.call: HeadsetCall | None = None
        self.call_state = "idle"
        self.ended: list[HeadsetCall] = []
        self.registered: int | None = None  # last registration status code
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._timers: list[tuple[float, Callable[[], None]]] = []
        self._running = True
        self._next_report = 0.0
        self.endpoint: Endpoint | None = None
        self.account: HeadsetAccount | None = None
        self.port: CallPort | None = None

    # --- the loop --------------------------------------------------------------------------

    def post(self, action: Callable[[], None]) -> None:
        """Run *action* on the loop thread (safe from any thread)."""
        self._queue.put(action)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        self.post(lambda: self._timers.append((time.monotonic() + seconds, action)))

    def stop(self) -> None:
        self.post(self._quit)

    def _quit(self) -> None:
        self._running = False

    def _pump(self, ms: int = 10) -> None:
        assert self.endpoint is not None
        self.endpoint.pump(ms)
        while True:
            try:
                action = self._queue.get_nowait()
            except queue.Empty:
                break
            action()
        now = time.monotonic()
        due = [t for t in self._timers if t[0] <= now]
        self._timers = [t for t in self._timers if t[0] > now]
        for _, action in due:
            action()
        if now >= self._next_report:
            self.report()

    def start(self, timeout: float = 15.0) -> None:
        """Start pjsua2, register, and return once the edge accepted us (else raise)."""
        r = self.registration
        self.endpoint = start_endpoint(r.address, r.sip_port, r.rtp_port, 100, max_calls=4)
        self.port = CallPort(self.bridge)
        self.account = HeadsetAccount(self)
        config = pj.AccountConfig()
        config.idUri = f"sip:{r.extension}@{r.domain}"
        config.regConfig.registrarUri = f"sip:{r.server}"
        config.regConfig.timeoutSec = 300
        config.regConfig.retryIntervalSec = 30
        config.sipConfig.proxies.append(f"sip:{r.server};lr")
        config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", r.extension, 0,
                                                          r.password))
        config.mediaConfig.transportConfig = self.endpoint.media_transport()
        self.account.create(config)
        deadline = time.monotonic() + timeout
        while self.registered is None and time.monotonic() < deadline:
            self._pump(20)
        code = self.registered
        if code is None or code in (408, 503) or code >= 700:
            raise StationError(f"no answer from the edge at {r.server} (status {code}): check "
                               "--server and that the edge runs", EXIT_UNREACHABLE)
        if code // 100 != 2:
            raise StationError(
                f"the edge at {r.server} refused extension {r.extension} (status {code}): check "
                "the extension and its password in the console", EXIT_REFUSED)
        self.events.emit("registered", extension=r.extension, server=r.server,
                         device=self.sound.device.name)
        if self.buttons is not None:
            self.buttons.start(lambda button: self.post(lambda: self.on_button(button)))
        self.show_lamps()

    def run(self) -> None:
        while self._running:
            self._pump(10)

    def shutdown(self) -> None:
        if self.endpoint is None:
            return
        if self.call is not None:
            self.hangup()
        self.sound.ring(False)

        def drop() -> None:
            self.call = None
            self.ended.clear()
            if self.account is not None:
                self.account.shutdown()
            self.account = None
            self.port = None  # before libDestroy, like the test phone's ports

        self.sound.stop()  # no device callback may run into a destroyed port
        stop_endpoint(self.endpoint, drop, drain_seconds=0.5)
        self.endpoint = None
        if self.buttons is not None:
            self.buttons.close()
        if self.reporter is not None:
            self.reporter.close()

    # --- pjsua2 events (posted) --------------------------------------------------------------

    def on_registration(self, code: int, reason: str, expiration: int) -> None:
        first = self.registered is None
        self.registered = code
        if not first:
            self.events.emit("registration", code=code, reason=reason, expires=expiration)

    def on_incoming(self, call: HeadsetCall, caller: str, answer_in: float | None) -> None:
        if self.call is not None:  # one call at a time: the agent is busy
            with contextlib.suppress(pj.Error):
                call.answer(self._op(486))
            self.ended.append(call)
            return
        self.call = call
        call.answer(self._op(180))
        self._set_state("ringing")
        self.sound.ring(True)
        self.events.emit("incoming", caller=caller, intercom=answer_in is not None)
        if answer_in is not None or self.auto_answer:
            self.later(answer_in or 0.0, lambda: self._answer_if(call))

    def on_call_state(self, call: HeadsetCall, state: str, code: int, reason: str) -> None:
        if call is not self.call:
            return
        if state == "confirmed":
            self.sound.ring(False)
            self._set_state("in_call")
            self.events.emit("answered", code=code)
        elif state == "disconnected":
            self.sound.ring(False)
            self.call = None
            self.ended.append(call)  # dropped on the loop, never inside its own callback
            self.bridge.muted = False
            self.bridge.end_call()
            self._set_state("idle")
            self.events.emit("ended", code=code, reason=reason)
            self.later(0.5, self.ended.clear)

    def on_media(self, call: HeadsetCall) -> None:
        media = call.audio_media()
        if media is None or self.port is None:
            self.events.emit("media", active=False)
            return
        if call.media is None:
            self.bridge.start_call()
        call.media = media
        media.startTransmit(self.port)
        self.port.startTransmit(media)
        self.events.emit("media", active=True, codec=call.codec())

    # --- what the agent does -----------------------------------------------------------------

    def answer(self) -> None:
        if self.call is not None and self.call_state == "ringing":
            self._answer_if(self.call)

    def _answer_if(self, call: HeadsetCall) -> None:
        if call is self.call and self.call_state == "ringing":
            call.answer(self._op(200))

    def hangup(self) -> None:
        if self.call is not None:
            with contextlib.suppress(pj.Error):
                self.call.hangup(self._op(603 if self.call_state == "ringing" else 0))

    def dial(self, number: str) -> None:
        if self.call is not None:
            self.events.emit("refused", command="dial", reason="already on a call")
            return
        if not number or not all(ch.isalnum() or ch in "*#+" for ch in number):
            self.events.emit("refused", command="dial", reason=f"not a number: {number!r}")
            return
        call = HeadsetCall(self)
        call.makeCall(f"sip:{number}@{self.registration.server}", pj.CallOpParam(True))
        self.call = call
        self._set_state("calling")

    def set_muted(self, muted: bool | None = None) -> None:
        """Mute or unmute; None toggles."""
        self.bridge.muted = (not self.bridge.muted) if muted is None else muted
        self.events.emit("muted", muted=self.bridge.muted)
        self.show_lamps()
        self.report()

    def set_volume(self, percent: int) -> None:
        self.volume = max(0, min(100, percent))
        self.bridge.gain = (self.volume / 100.0) ** 2
        self.events.emit("volume", volume=self.volume)

    def on_button(self, button: Button) -> None:
        self.events.emit("button", button=str(button))
        if button in (Button.HOOK_OFF, Button.HOOK_TOGGLE) and self.call_state == "ringing":
            self.answer()
        elif button in (Button.HOOK_ON, Button.HOOK_TOGGLE) and self.call_state in (
            "in_call", "calling"
        ):
            self.hangup()
        elif button == Button.MUTE_TOGGLE:
            self.set_muted(None)
        elif button == Button.VOLUME_UP:
            self.set_volume(self.volume + VOLUME_STEP)
        elif button == Button.VOLUME_DOWN:
            self.set_volume(self.volume - VOLUME_STEP)

    # --- state out ---------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.call_state = state
        self.show_lamps()
        self.report()

    def show_lamps(self) -> None:
        if self.buttons is not None:
            self.buttons.show(Lamps(off_hook=self.call_state in ("in_call", "calling"),
                                    muted=self.bridge.muted,
                                    ringing=self.call_state == "ringing"))

    def state(self) -> HeadsetState:
        stats = self.bridge.stats()
        return HeadsetState(
            extension=self.registration.extension, device=self.sound.device.name,
            hook="off" if self.call_state in ("in_call", "calling") else "on",
            call=self.call_state, muted=self.bridge.muted, volume=self.volume,
            heard_dbfs=round(stats.heard_dbfs, 1), spoken_dbfs=round(stats.spoken_dbfs, 1),
            playback_ms=round(stats.playback_ms, 1), capture_ms=round(stats.capture_ms, 1),
            underruns=stats.playback_underruns + stats.capture_underruns,
        )

    def report(self) -> None:
        idle = self.call_state == "idle"
        self._next_report = time.monotonic() + (IDLE_REPORT_SECONDS if idle else REPORT_SECONDS)
        state = self.state()
        stats = self.bridge.stats()  # per direction, for whoever reads the event log
        self.events.emit("state", **state.to_json(), playback_underruns=stats.playback_underruns,
                         capture_underruns=stats.capture_underruns,
                         trims=stats.playback_trims + stats.capture_trims,
                         target_ms=round(stats.target_ms, 1))
        if self.reporter is not None:
            self.reporter.report(state)

    @staticmethod
    def _op(code: int) -> pj.CallOpParam:
        prm = pj.CallOpParam()
        prm.statusCode = code
        return prm
