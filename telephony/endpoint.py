"""The one pjsua2 Endpoint of a process: start it on loopback and shut it down cleanly.

Used by the switch worker and by the test phone alike: no worker threads (the owner pumps
``libHandleEvents``), a null sound device, 8 kHz conference bridge, SIP and RTP bound to the
address we mean (so Contact and SDP carry it), an RTP port range per process, and G.711 alone
(`CODECS`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pjsua2 as pj

from dsp.clock import CLOCK_RATE, FRAME_MS

#: The codecs every endpoint of ours offers and accepts, best first: G.711, the 8 kHz telephone
#: codec the whole media path runs at (conference bridge, DSP chain, recognizer), and what every
#: desk phone and carrier speaks. Every other codec of pjmedia is switched off: its default
#: order puts speex/16000 first, so two of our endpoints (worker and headset or test phone)
#: spoke speex to each other, resampled twice for nothing, and under load its decoder, fed
#: late, bunched packets, went unstable: seconds of full-scale noise at the far end
#: (docs/reliability.md, "The headset's media path under load").
CODECS: tuple[str, ...] = ("PCMU/8000/1", "PCMA/8000/1")
#: The priority of the first codec: above pjmedia's defaults (128-130), below its ceiling
#: (set at 255 and at 254, both read back as 254 and tie). 0 disables a codec.
TOP_PRIORITY = 200

_PJ_TO_LOGGING = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}


class _PjsipLog(pj.LogWriter):
    """pjsip's log lines into Python logging (logger ``pjsip``), so they read like ours."""

    def __init__(self) -> None:
        super().__init__()
        self.muted = False

    def write(self, entry: pj.LogEntry) -> None:
        if not self.muted:
            level = _PJ_TO_LOGGING.get(entry.level, logging.DEBUG)
            logging.getLogger("pjsip").log(level, "%s", entry.msg.strip())


#: One writer per process; pjsua2 needs it alive until ``libDestroy``.
_PJSIP_LOG = _PjsipLog()


@contextlib.contextmanager
def pjsip_log_muted() -> Iterator[None]:
    """Silence pjsip's log while we provoke errors on purpose (the capacity probe)."""
    _PJSIP_LOG.muted = True
    try:
        yield
    finally:
        _PJSIP_LOG.muted = False


@dataclass
class Endpoint:
    lib: pj.Endpoint
    address: str
    sip_port: int
    rtp_port: int
    rtp_port_range: int

    def media_transport(self) -> pj.TransportConfig:
        """Transport settings for an account's RTP: our address and our port range."""
        config = pj.TransportConfig()
        config.port = self.rtp_port
        config.portRange = self.rtp_port_range
        config.boundAddress = self.address
        config.publicAddress = self.address
        return config

    def pump(self, ms: int) -> None:
        self.lib.libHandleEvents(ms)


def prefer_codecs(lib: pj.Endpoint, codecs: tuple[str, ...] = CODECS) -> list[str]:
    """Offer and accept only *codecs*, in their order; returns the codec ids now enabled."""
    wanted = {codec.lower(): TOP_PRIORITY - rank for rank, codec in enumerate(codecs)}
    enabled = []
    for info in lib.codecEnum2():
        priority = wanted.get(info.codecId.lower(), 0)
        lib.codecSetPriority(info.codecId, priority)
        if priority:
            enabled.append(info.codecId)
    return enabled


def start_endpoint(
    address: str,
    sip_port: int,
    rtp_port: int,
    rtp_port_range: int = 100,
    max_calls: int = 1024,
    log_level: int = 1,
) -> Endpoint:
    """Create, initialise and start the endpoint; *sip_port* 0 lets the OS choose."""
    lib = pj.Endpoint()
    lib.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.maxCalls = max_calls
    config.uaConfig.userAgent = "Centralino"
    config.logConfig.level = log_level
    config.logConfig.consoleLevel = log_level
    config.logConfig.writer = _PJSIP_LOG
    config.logConfig.decor = 0  # our formatter adds time, level and process
    config.medConfig.clockRate = CLOCK_RATE
    config.medConfig.sndClockRate = CLOCK_RATE
    config.medConfig.audioFramePtime = FRAME_MS
    config.medConfig.ecTailLen = 0
    config.medConfig.noVad = True
    lib.libInit(config)
    lib.audDevManager().setNullDev()
    sip = pj.TransportConfig()
    sip.port = sip_port
    sip.boundAddress = address
    sip.publicAddress = address
    transport_id = lib.transportCreate(pj.PJSIP_TRANSPORT_UDP, sip)
    bound_port = int(lib.transportGetInfo(transport_id).localName.rsplit(":", 1)[1])
    lib.libStart()
    prefer_codecs(lib)
    return Endpoint(lib, address, bound_port, rtp_port, rtp_port_range)


def stop_endpoint(
    endpoint: Endpoint, drop_references: Callable[[], None], drain_seconds: float = 1.0
) -> None:
    """Hang up every call, pump so the BYEs go out, drop the app's references, then destroy.

    A ``Call`` still referenced at ``libDestroy`` aborts the process, hence the order.
    """
    lib = endpoint.lib
    with contextlib.suppress(pj.Error):
        lib.hangupAllCalls()
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        lib.libHandleEvents(20)
    drop_references()
    lib.libHandleEvents(20)
    lib.libDestroy()
