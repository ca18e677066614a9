"""The one pjsua2 Endpoint of a process: start it on loopback and shut it down cleanly.

Used by the switch worker and by the test phone alike: no worker threads (the owner pumps
``libHandleEvents``), a null sound device, 8 kHz conference bridge, SIP and RTP bound to the
address we mean (so Contact and SDP carry it), and an RTP port range per process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj

CLOCK_RATE = 8000
FRAME_MS = 20


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
