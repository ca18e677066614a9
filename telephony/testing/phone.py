"""A pjsua2 test phone run as its own process, driven by JSON lines on stdin, reporting on stdout.

Commands (``{"id": n, "cmd": ..., ...}``; every command gets ``{"reply": n, "ok": ...}``):
``register`` (registrar, user, password, realm), ``call`` (uri, headers), ``answer`` (call, code; an
INVITE with ``Call-Info: ...;answer-after=0`` or ``Alert-Info: ...alert-autoanswer`` is
answered at once, like a desk phone's intercom),
``hangup`` (call), ``dtmf`` (call, digits, method ``rfc4733``|``info``), ``play`` (call, wav,
loop), ``tone`` (call, freq), ``silence`` (call), ``hold``/``unhold`` (call), ``echo`` (call,
delay_ms, gain_db: what the phone hears goes back into its microphone, delayed, low-passed and
attenuated, mixed with what it plays; gain_db null switches it off), ``transfer`` (call, uri:
a blind transfer, i.e. a REFER with that Refer-To), ``stats`` (call: what its audio stream
received, lost on the wire and lost or discarded in the jitter buffer), ``quit``.
Events (``{"event": ...}``): ``ready``, ``registered``, ``incoming``, ``state``, ``media``,
``dtmf``, ``transfer`` (the REFER's progress: code, reason, final), ``recorded`` (every call is
recorded from media start to disconnect when ``--record-dir`` is given).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pjsua2 as pj

from dsp.clock import CLOCK_RATE
from ivr.prompts import write_wav
from telephony.endpoint import Endpoint, start_endpoint, stop_endpoint

STATES = {
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}
DTMF_METHODS = {"rfc4733": pj.PJSUA_DTMF_METHOD_RFC2833, "info": pj.PJSUA_DTMF_METHOD_SIP_INFO}
DTMF_NAMES = {value: key for key, value in DTMF_METHODS.items()}


_OUT = sys.stdout


def emit(event: dict[str, Any]) -> None:
    _OUT.write(json.dumps(event) + "\n")
    _OUT.flush()


class EchoPath(pj.AudioMediaPort):
    """A handset's acoustic echo: the far end's audio comes back delayed, low-passed, quieter."""

    KERNEL = np.array([0.25, 0.5, 0.25])  # a gentle low-pass, like a small loudspeaker

    def __init__(self, delay_ms: int, gain_db: float) -> None:
        super().__init__()
        self.samples = CLOCK_RATE // 50
        self.delay_frames = max(1, delay_ms // 20)
        self.gain = 10 ** (gain_db / 20)
        self.frames: deque[bytes] = deque()
        self.tail = np.zeros(len(self.KERNEL) - 1)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, CLOCK_RATE, 1, 20000, 16)
        self.createPort(f"echo-{id(self):x}", fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        if frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or frame.size == 0:
            heard = np.zeros(self.samples)
        else:
            heard = np.frombuffer(bytes(frame.buf), dtype="<i2").astype(np.float64)
        filtered = np.convolve(np.concatenate([self.tail, heard]), self.KERNEL, "valid")
        self.tail = heard[-(len(self.KERNEL) - 1) :]
        echo = np.clip(filtered * self.gain, -32768, 32767).astype("<i2")
        self.frames.append(echo.tobytes())
        while len(self.frames) > self.delay_frames + 10:  # never let the delay grow
            self.frames.popleft()

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        if len(self.frames) <= self.delay_frames:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            frame.size = 0
            return
        data = self.frames.popleft()
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(data)
        frame.size = len(data)


class PhoneCall(pj.Call):
    def __init__(self, phone: Phone, number: int, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        if call_id == pj.PJSUA_INVALID_ID:
            super().__init__(phone.account)
        else:
            super().__init__(phone.account, call_id)
        self.phone = phone
        self.number = number
        self.media: pj.AudioMedia | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self.player: pj.AudioMediaPlayer | None = None
        self.echo: EchoPath | None = None
        self.record_path: str | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        state = STATES.get(info.state, str(info.state))
        emit(
            {
                "event": "state",
                "call": self.number,
                "state": state,
                "code": info.lastStatusCode,
                "reason": info.lastReason,
            }
        )
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.phone.later(lambda: self.phone.forget(self))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO:
                status = media.status
                emit({"event": "media", "call": self.number, "status": int(status)})
                if status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                    self.media = self.getAudioMedia(media.index)
                    self._start_recording()
                    if self.player is not None:
                        self.player.startTransmit(self.media)
                    if self.echo is not None:
                        self._connect_echo()

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        method = DTMF_NAMES.get(prm.method, str(prm.method))
        emit({"event": "dtmf", "call": self.number, "digit": prm.digit, "method": method})

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        emit(
            {
                "event": "transfer",
                "call": self.number,
                "code": int(prm.statusCode),
                "reason": prm.reason,
                "final": bool(prm.finalNotify),
            }
        )

    def _start_recording(self) -> None:
        if self.phone.record_dir is None or self.media is None:
            return
        if self.recorder is not None:  # a re-INVITE can give the call a new bridge slot
            self.media.startTransmit(self.recorder)
            return
        path = self.phone.record_dir / f"{self.phone.name}-call{self.number}.wav"
        self.recorder = pj.AudioMediaRecorder()
        self.recorder.createRecorder(str(path))
        self.media.startTransmit(self.recorder)
        self.record_path = str(path)

    def play(self, wav: str, loop: bool) -> None:
        self.silence()
        self.player = pj.AudioMediaPlayer()
        self.player.createPlayer(wav, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        if self.media is not None:
            self.player.startTransmit(self.media)

    def set_echo(self, delay_ms: int, gain_db: float | None) -> None:
        if self.echo is not None and self.media is not None:
            with contextlib.suppress(pj.Error):
                self.media.stopTransmit(self.echo)
                self.echo.stopTransmit(self.media)
        self.echo = None if gain_db is None else EchoPath(delay_ms, gain_db)
        if self.echo is not None and self.media is not None:
            self._connect_echo()

    def _connect_echo(self) -> None:
        assert self.echo is not None and self.media is not None
        self.media.startTransmit(self.echo)
        self.echo.startTransmit(self.media)

    def silence(self) -> None:
        if self.player is not None and self.media is not None:
            with contextlib.suppress(pj.Error):
                self.player.stopTransmit(self.media)
        self.player = None

    def finish(self) -> None:
        self.silence()
        if self.echo is not None:
            self.phone.echoes.append(self.echo)  # ports die with the endpoint, not mid-clock
            self.echo = None
        if self.recorder is not None:
            self.recorder = None  # closing the recorder completes the WAV header
            emit({"event": "recorded", "call": self.number, "path": self.record_path})
        self.media = None


def asks_auto_answer(message: str) -> bool:
    """Whether an INVITE carries an intercom hint that desk phones answer at once."""
    for line in message.split("\r\n\r\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "call-info" and "answer-after=0" in value.replace(" ", ""):
            return True
        if name.strip().lower() == "alert-info" and "alert-autoanswer" in value:
            return True
    return False


class PhoneAccount(pj.Account):
    def __init__(self, phone: Phone) -> None:
        super().__init__()
        self.phone = phone

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = self.phone.adopt(prm.callId)
        info = call.getInfo()
        intercom = asks_auto_answer(prm.rdata.wholeMsg)
        emit(
            {"event": "incoming", "call": call.number, "from": info.remoteUri, "intercom": intercom}
        )
        answer = pj.CallOpParam()
        answer.statusCode = 200 if self.phone.auto_answer or intercom else 180
        call.answer(answer)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        emit({"event": "registered", "code": prm.code, "expiration": prm.expiration})


class Phone:
    def __init__(self, args: argparse.Namespace) -> None:
        self.name: str = args.name
        self.auto_answer: bool = args.auto_answer
        self.record_dir = Path(args.record_dir) if args.record_dir else None
        self.address: str = args.address
        self.endpoint: Endpoint = start_endpoint(self.address, args.sip_port, args.rtp_port, 50)
        self.account = PhoneAccount(self)
        self._configure_account(None)
        self.calls: dict[int, PhoneCall] = {}
        # Ended calls are kept until the endpoint stops, never dropped mid-run: a pjsua2 Call
        # keeps its old pjsua id after DISCONNECTED, and its destructor would clear the callbacks
        # of (and hang up) a newer call that pjsua gave the same id. Calls are named by their
        # own number (``call``), never by the reused pjsua id.
        self.ended: list[PhoneCall] = []
        self.echoes: list[EchoPath] = []
        self.next_number = 1
        self.commands: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.deferred: list[Any] = []
        self.running = True
        self.tones = Path(tempfile.mkdtemp(prefix="phone-tones-"))

    def _configure_account(self, registration: dict[str, Any] | None) -> None:
        config = pj.AccountConfig()
        config.mediaConfig.transportConfig = self.endpoint.media_transport()
        if registration is None:
            config.idUri = f"sip:{self.name}@{self.address}:{self.endpoint.sip_port}"
        else:
            realm = registration.get("realm", "*")
            domain = registration.get("domain", registration["registrar"])
            config.idUri = f"sip:{registration['user']}@{domain}"
            config.regConfig.registrarUri = f"sip:{registration['registrar']}"
            config.regConfig.timeoutSec = int(registration.get("expires", 300))
            credential = pj.AuthCredInfo(
                "digest", realm, registration["user"], 0, registration["password"]
            )
            config.sipConfig.authCreds.append(credential)
            if registration.get("proxy"):
                config.sipConfig.proxies.append(f"sip:{registration['proxy']};lr")
        if registration is None:
            self.account.create(config)
        else:
            self.account.modify(config)

    def later(self, action: Any) -> None:
        self.deferred.append(action)

    def adopt(self, call_id: int) -> PhoneCall:
        call = PhoneCall(self, self.next_number, call_id)
        self.calls[call.number] = call
        self.next_number += 1
        return call

    def forget(self, call: PhoneCall) -> None:
        call.finish()
        self.calls.pop(call.number, None)
        self.ended.append(call)

    def run(self) -> None:
        threading.Thread(target=self._read_stdin, daemon=True).start()
        emit({"event": "ready", "sip_port": self.endpoint.sip_port, "name": self.name})
        while self.running:
            self.endpoint.pump(10)
            while self.deferred:
                self.deferred.pop(0)()
            while True:
                try:
                    command = self.commands.get_nowait()
                except queue.Empty:
                    break
                if command is None:
                    self.running = False
                    break
                self._execute(command)
        self._shutdown()

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.commands.put(json.loads(line))
        self.commands.put(None)

    def _execute(self, command: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"reply": command.get("id"), "ok": True}
        try:
            handler = getattr(self, f"do_{command['cmd']}")
            result = handler(command)
            if result:
                reply.update(result)
        except (pj.Error, KeyError, AttributeError, ValueError) as error:
            text = error.info() if isinstance(error, pj.Error) else repr(error)
            reply = {"reply": command.get("id"), "ok": False, "error": text}
        emit(reply)

    def _call(self, command: dict[str, Any]) -> PhoneCall:
        number = int(command["call"])
        if number not in self.calls:  # say which, instead of a bare KeyError(3)
            gone = any(call.number == number for call in self.ended)
            raise KeyError(f"call {number} {'has ended' if gone else 'is unknown'}")
        return self.calls[number]

    def do_register(self, command: dict[str, Any]) -> None:
        self._configure_account(command)

    def do_unregister(self, command: dict[str, Any]) -> None:
        self.account.setRegistration(False)

    def do_call(self, command: dict[str, Any]) -> dict[str, Any]:
        call = PhoneCall(self, self.next_number)
        self.next_number += 1
        prm = pj.CallOpParam(True)
        for name, value in command.get("headers", {}).items():  # e.g. an intercom Call-Info
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        call.makeCall(command["uri"], prm)
        self.calls[call.number] = call
        return {"call": call.number}

    def do_answer(self, command: dict[str, Any]) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = int(command.get("code", 200))
        self._call(command).answer(prm)

    def do_hangup(self, command: dict[str, Any]) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = int(command.get("code", 0))
        self._call(command).hangup(prm)

    def do_dtmf(self, command: dict[str, Any]) -> None:
        prm = pj.CallSendDtmfParam()
        prm.digits = command["digits"]
        prm.method = DTMF_METHODS[command.get("method", "rfc4733")]
        self._call(command).sendDtmf(prm)

    def do_play(self, command: dict[str, Any]) -> None:
        self._call(command).play(command["wav"], bool(command.get("loop", False)))

    def do_tone(self, command: dict[str, Any]) -> None:
        freq = float(command.get("freq", 1000.0))
        path = self.tones / f"tone-{int(freq)}.wav"
        if not path.exists():
            t = np.arange(CLOCK_RATE) / CLOCK_RATE
            write_wav(path, (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16), CLOCK_RATE)
        self._call(command).play(str(path), True)

    def do_echo(self, command: dict[str, Any]) -> None:
        gain = command.get("gain_db")
        self._call(command).set_echo(
            int(command.get("delay_ms", 60)), None if gain is None else float(gain)
        )

    def do_transfer(self, command: dict[str, Any]) -> None:
        self._call(command).xfer(command["uri"], pj.CallOpParam(True))

    def do_silence(self, command: dict[str, Any]) -> None:
        self._call(command).silence()

    def do_stats(self, command: dict[str, Any]) -> dict[str, Any]:
        stat = self._call(command).getStreamStat(0)
        rx = stat.rtcp.rxStat
        return {
            "received": int(rx.pkt), "lost": int(rx.loss), "discarded": int(rx.discard),
            "jbuf_lost": int(stat.jbuf.lost), "jbuf_discarded": int(stat.jbuf.discard),
        }  # fmt: skip

    def do_hold(self, command: dict[str, Any]) -> None:
        self._call(command).setHold(pj.CallOpParam(True))

    def do_unhold(self, command: dict[str, Any]) -> None:
        prm = pj.CallOpParam(True)
        prm.opt.flag = pj.PJSUA_CALL_UNHOLD
        self._call(command).reinvite(prm)

    def do_quit(self, command: dict[str, Any]) -> None:
        self.running = False

    def _shutdown(self) -> None:
        for call in list(self.calls.values()):
            call.finish()

        def drop() -> None:
            self.calls.clear()
            self.ended.clear()
            self.echoes.clear()
            self.account.shutdown()

        stop_endpoint(self.endpoint, drop, drain_seconds=0.5)
        emit({"event": "stopped"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="phone")
    parser.add_argument("--address", default="127.0.0.1", help="SIP and RTP bind address")
    parser.add_argument("--sip-port", type=int, default=0)
    parser.add_argument("--rtp-port", type=int, default=40000)
    parser.add_argument("--auto-answer", action="store_true")
    parser.add_argument("--record-dir")
    args = parser.parse_args(argv)
    global _OUT
    _OUT = os.fdopen(os.dup(1), "w")  # events get the real stdout; pjsip's log goes to stderr
    os.dup2(2, 1)
    Phone(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
