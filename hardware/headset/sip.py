"""The headset's pjsua2 objects: its account at the edge, its calls, and the media port that
joins a call to the `AudioBridge`. Every callback only posts to the station's loop, except the
port's frame callbacks, which run on pjmedia's clock thread and only copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pjsua2 as pj

from dsp.clock import CLOCK_RATE, FRAME_MS
from hardware.headset.bridge import AudioBridge
from hardware.headset.intercom import answer_after
from telephony.media_frames import vector_bytes

if TYPE_CHECKING:
    from hardware.headset.station import Station

STATES = {
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}

class CallPort(pj.AudioMediaPort):
    """A port on the conference bridge: the call's audio in, the headset's capture out."""

    def __init__(self, bridge: AudioBridge) -> None:
        super().__init__()
        self.bridge = bridge
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, CLOCK_RATE, 1, FRAME_MS * 1000, 16)
        self.createPort("headset", fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            self.bridge.from_call(np.frombuffer(vector_bytes(frame.buf), dtype="<i2"))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        data = self.bridge.to_call().astype("<i2").tobytes()
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(data)
        frame.size = len(data)


class HeadsetCall(pj.Call):
    def __init__(self, station: Station, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        if call_id == pj.PJSUA_INVALID_ID:
            super().__init__(station.account)
        else:
            super().__init__(station.account, call_id)
        self.station = station
        self.media: pj.AudioMedia | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        state = STATES.get(info.state, str(info.state))
        code, reason = info.lastStatusCode, info.lastReason
        self.station.post(lambda: self.station.on_call_state(self, state, code, reason))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        self.station.post(lambda: self.station.on_media(self))

    def audio_media(self) -> pj.AudioMedia | None:
        info = self.getInfo()  # keep it: its media vector points into it (SWIG)
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status in (
                pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD
            ):
                return self.getAudioMedia(media.index)
        return None

    def codec(self) -> str | None:
        """The audio codec the call negotiated, as ``name/rate`` (None before media)."""
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO:
                try:
                    stream = self.getStreamInfo(media.index)
                except pj.Error:
                    return None
                return f"{stream.codecName}/{stream.codecClockRate}"
        return None


class HeadsetAccount(pj.Account):
    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        code, reason, expiration = int(prm.code), str(prm.reason), int(prm.expiration)
        self.station.post(lambda: self.station.on_registration(code, reason, expiration))

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = HeadsetCall(self.station, prm.callId)
        delay = answer_after(prm.rdata.wholeMsg)
        caller = call.getInfo().remoteUri
        self.station.post(lambda: self.station.on_incoming(call, caller, delay))
