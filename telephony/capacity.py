"""Measure how many call legs this pjsua2 build holds, by opening calls until the library refuses.

pjsua silently caps ``UaConfig.maxCalls`` at the compile-time ``PJSUA_MAX_CALLS`` and exposes
neither, so the worker asks for a generous limit and counts: it places calls towards a local
UDP sink that answers each INVITE with 503, until ``makeCall`` raises ``PJ_ETOOMANY``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pjsua2 as pj

from telephony.endpoint import pjsip_log_muted

#: What the worker asks pjsua for; the library caps it at its compiled maximum.
REQUESTED_MAX_CALLS = 1024


def _reply_503(request: bytes) -> bytes | None:
    """A stateless 503 for one INVITE (echoing its Via/From/To/Call-ID/CSeq), else None."""
    text = request.decode("latin-1")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head or not head[0].startswith("INVITE "):
        return None
    keep = ("via:", "v:", "from:", "f:", "call-id:", "i:", "cseq:")
    lines = ["SIP/2.0 503 Capacity Probe"]
    for line in head[1:]:
        lower = line.lower()
        if lower.startswith(keep):
            lines.append(line)
        elif lower.startswith(("to:", "t:")):
            lines.append(line + ";tag=probe")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def probe_max_calls(
    account: pj.Account,
    make_call: Callable[[pj.Account], pj.Call],
    pump: Callable[[int], None],
    settle_seconds: float = 3.0,
) -> int:
    """Count the calls pjsua lets this process open at once, then end them all."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    uri = f"sip:capacity-probe@127.0.0.1:{sink.getsockname()[1]}"
    calls: list[pj.Call] = []
    try:
        with pjsip_log_muted():
            while len(calls) < REQUESTED_MAX_CALLS:
                call = make_call(account)
                try:
                    call.makeCall(uri, pj.CallOpParam(True))
                except pj.Error as error:
                    if "ETOOMANY" in error.reason or error.status == 70010:
                        break
                    raise
                calls.append(call)
        deadline = time.monotonic() + settle_seconds
        while time.monotonic() < deadline and any(c.isActive() for c in calls):
            pump(10)
            while True:
                try:
                    data, peer = sink.recvfrom(65535)
                except BlockingIOError:
                    break
                reply = _reply_503(data)
                if reply is not None:
                    sink.sendto(reply, peer)
        return len(calls)
    finally:
        sink.close()
        calls.clear()
        pump(10)
