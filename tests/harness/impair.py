"""A bad network on loopback: a SIP-aware UDP relay that anchors a phone's RTP and impairs it.

The kernel here has no `netem` qdisc, so the impairment is in user space. `ImpairedLine` sits
between one phone and the edge: the phone uses it as its outbound proxy, SIP passes through
unchanged except each SDP body's audio port, which becomes one of the relay's own. RTP both
ways then crosses the relay, where an `ImpairedPath` per direction drops, delays, jitters and
reorders packets with a seeded RNG (the same seed gives the same losses). RTCP is not relayed
(``a=rtcp`` lines are removed; the phones' RTCP goes nowhere), and in-dialog requests from the
far end reach the phone at its Contact directly, so a re-INVITE from the switch would take the
media off the relay: the tests using it have none.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    """What the network does to each packet of one direction."""

    loss: float = 0.0  # probability that a packet is dropped
    delay_ms: float = 0.0  # fixed one-way delay
    jitter_ms: float = 0.0  # extra delay, uniform in [0, jitter_ms] (reorders when > spacing)
    reorder: float = 0.0  # probability that a packet is held back by `reorder_ms` more
    reorder_ms: float = 45.0  # two 20 ms packets and a bit: it arrives after the next two


@dataclass
class PathCounts:
    packets: int = 0
    dropped: int = 0
    held_back: int = 0


@dataclass
class ImpairedPath:
    """Decides each packet's fate: dropped (None) or the time it leaves."""

    impairment: Impairment
    seed: int
    counts: PathCounts = field(default_factory=PathCounts)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def schedule(self, now: float) -> float | None:
        self.counts.packets += 1
        spec = self.impairment
        if self.rng.random() < spec.loss:
            self.counts.dropped += 1
            return None
        delay = spec.delay_ms + self.rng.uniform(0.0, spec.jitter_ms)
        if self.rng.random() < spec.reorder:
            self.counts.held_back += 1
            delay += spec.reorder_ms
        return now + delay / 1000.0


def reordered_share(order: list[int]) -> float:
    """Share of packets that arrive after a later-sent one (their sequence below the highest
    seen so far): the reordering a receiver's jitter buffer has to undo."""
    highest = -1
    late = 0
    for seq in order:
        if seq < highest:
            late += 1
        highest = max(highest, seq)
    return late / len(order) if order else 0.0


_AUDIO = re.compile(rb"^m=audio (\d+)", re.MULTILINE)
_CONNECTION = re.compile(rb"^c=IN IP4 (\S+)", re.MULTILINE)
_RTCP = re.compile(rb"^a=rtcp:[^\r\n]*\r?\n", re.MULTILINE)
_LENGTH = re.compile(rb"^(Content-Length|l)[ \t]*:[ \t]*\d+", re.MULTILINE | re.IGNORECASE)


def rewrite_sdp(message: bytes, port: int) -> tuple[bytes, Address | None]:
    """*message* with its SDP's audio port replaced by *port* (and Content-Length fixed);
    returns it and the audio address the SDP announced (None: no SDP audio)."""
    head, sep, body = message.partition(b"\r\n\r\n")
    audio = _AUDIO.search(body)
    if not sep or audio is None:
        return message, None
    connection = _CONNECTION.search(body)
    host = connection.group(1).decode() if connection else "127.0.0.1"
    announced = (host, int(audio.group(1)))
    body = _AUDIO.sub(b"m=audio " + str(port).encode(), body, count=1)
    body = _RTCP.sub(b"", body)
    head = _LENGTH.sub(b"Content-Length: " + str(len(body)).encode(), head, count=1)
    return head + sep + body, announced


class ImpairedLine:
    """One phone's line to the edge through the relay; `sip_address` is its outbound proxy.

    Packets from the phone go to the switch side through `to_switch`, packets from the switch
    to the phone through `to_phone`. `start` runs it on a thread, `stop` ends it."""

    def __init__(
        self, edge: Address, to_switch: Impairment, to_phone: Impairment, seed: int = 1
    ) -> None:
        self.edge = edge
        self.to_switch = ImpairedPath(to_switch, seed)
        self.to_phone = ImpairedPath(to_phone, seed + 1)
        self.sip = self._socket()
        self.rtp_phone_side = self._socket()  # the phone sends its RTP here
        self.rtp_switch_side = self._socket()  # the switch sends its RTP here
        self.phone_sip: Address | None = None
        self.phone_rtp: Address | None = None
        self.switch_rtp: Address | None = None
        self.relayed_payload_types: dict[str, dict[int, int]] = {"to_switch": {}, "to_phone": {}}
        self._queue: list[tuple[float, int, socket.socket, bytes, Address]] = []
        self._order = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="impaired-line", daemon=True)

    @staticmethod
    def _socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        return sock

    @property
    def sip_address(self) -> Address:
        return self.sip.getsockname()  # type: ignore[no-any-return]

    @property
    def uri_host(self) -> str:
        host, port = self.sip_address
        return f"{host}:{port}"

    def start(self) -> ImpairedLine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for sock in (self.sip, self.rtp_phone_side, self.rtp_switch_side):
            sock.close()

    def __enter__(self) -> ImpairedLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        sockets = [self.sip, self.rtp_phone_side, self.rtp_switch_side]
        while not self._stopping.is_set():
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, sock, data, target = heapq.heappop(self._queue)
                with contextlib.suppress(OSError):
                    sock.sendto(data, target)
            wait = 0.05 if not self._queue else max(0.0, self._queue[0][0] - now)
            readable, _, _ = select.select(sockets, [], [], min(wait, 0.05))
            for sock in readable:
                with contextlib.suppress(BlockingIOError, ConnectionError):
                    while True:
                        data, source = sock.recvfrom(65536)
                        self._on_datagram(sock, data, source)

    def _on_datagram(self, sock: socket.socket, data: bytes, source: Address) -> None:
        if sock is self.sip:
            if source == self.edge:
                if self.phone_sip is None:
                    return
                data, announced = rewrite_sdp(data, self.rtp_phone_side.getsockname()[1])
                if announced:
                    self.switch_rtp = announced
                self.sip.sendto(data, self.phone_sip)
            else:
                self.phone_sip = source
                data, announced = rewrite_sdp(data, self.rtp_switch_side.getsockname()[1])
                if announced:
                    self.phone_rtp = announced
                self.sip.sendto(data, self.edge)
        elif sock is self.rtp_phone_side and self.switch_rtp is not None:
            self._impair(self.to_switch, "to_switch", self.rtp_switch_side, data, self.switch_rtp)
        elif sock is self.rtp_switch_side and self.phone_rtp is not None:
            self._impair(self.to_phone, "to_phone", self.rtp_phone_side, data, self.phone_rtp)

    def _impair(
        self, path: ImpairedPath, name: str, out: socket.socket, data: bytes, target: Address
    ) -> None:
        if len(data) >= 12:
            payload_type = data[1] & 0x7F
            counts = self.relayed_payload_types[name]
            counts[payload_type] = counts.get(payload_type, 0) + 1
        when = path.schedule(time.monotonic())
        if when is None:
            return
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, out, data, target))
