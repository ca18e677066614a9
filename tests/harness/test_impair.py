"""The impairment relay: measured loss and reordering, seeded, SDP rewriting, real sockets."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from tests.harness.impair import (
    ImpairedLine,
    ImpairedPath,
    Impairment,
    reordered_share,
    rewrite_sdp,
)

PACKETS = 20000
SPACING = 0.02


def delivery_order(path: ImpairedPath, packets: int = PACKETS) -> list[int]:
    """Sequence numbers in the order they leave the path, sent every 20 ms."""
    leaving = []
    for seq in range(packets):
        when = path.schedule(seq * SPACING)
        if when is not None:
            leaving.append((when, seq))
    return [seq for _, seq in sorted(leaving)]


def test_loss_rate_is_what_was_asked_and_the_seed_repeats_it() -> None:
    path = ImpairedPath(Impairment(loss=0.05), seed=7)
    order = delivery_order(path)
    lost = 1 - len(order) / PACKETS
    assert 0.045 < lost < 0.055, lost
    assert path.counts.dropped == PACKETS - len(order)
    assert reordered_share(order) == 0.0  # loss alone keeps the order
    assert delivery_order(ImpairedPath(Impairment(loss=0.05), seed=7)) == order
    assert delivery_order(ImpairedPath(Impairment(loss=0.05), seed=8)) != order


def test_held_back_packets_are_reordered_at_the_asked_rate() -> None:
    path = ImpairedPath(Impairment(reorder=0.03), seed=1)
    order = delivery_order(path)
    assert len(order) == PACKETS
    assert 0.025 < reordered_share(order) < 0.035  # each held-back packet arrives late once


def test_jitter_below_the_spacing_keeps_order_and_above_it_reorders() -> None:
    assert reordered_share(delivery_order(ImpairedPath(Impairment(jitter_ms=15), 2))) == 0.0
    share = reordered_share(delivery_order(ImpairedPath(Impairment(jitter_ms=30), 2)))
    # Uniform 0-30 ms on 20 ms spacing: a packet is overtaken by its successor when its delay
    # exceeds the next one's by more than 20 ms, (10/30)^2 / 2 of the time, about 5.6 %.
    assert 0.045 < share < 0.065, share


def test_delay_and_jitter_bound_each_packet() -> None:
    path = ImpairedPath(Impairment(delay_ms=200, jitter_ms=60), seed=3)
    delays = [path.schedule(0.0) for _ in range(5000)]
    assert all(d is not None and 0.2 <= d <= 0.26 for d in delays)


SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8 101\r\na=rtcp:40001 IN IP4 127.0.0.1\r\na=sendrecv\r\n"
)


def test_sdp_audio_port_is_rewritten_and_content_length_fixed() -> None:
    message = (
        "INVITE sip:800@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}"
    ).encode()
    rewritten, announced = rewrite_sdp(message, 51000)
    assert announced == ("127.0.0.1", 40000)
    head, _, body = rewritten.partition(b"\r\n\r\n")
    assert b"m=audio 51000 RTP/AVP 0 8 101\r\n" in body and b"a=rtcp" not in body
    assert f"Content-Length: {len(body)}".encode() in head
    plain = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"
    assert rewrite_sdp(plain, 51000) == (plain, None)


def sdp_of(port: int) -> str:
    return SDP.replace("40000", str(port))


def rtp(seq: int, payload_type: int = 8) -> bytes:
    return struct.pack("!BBHII", 0x80, payload_type, seq, seq * 160, 1) + bytes(160)


def test_the_relay_anchors_rtp_between_the_announced_addresses_and_drops_on_the_wire() -> None:
    """Real sockets: SIP through the relay teaches it both ends; RTP then crosses it, impaired."""
    edge = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    edge.bind(("127.0.0.1", 0))
    phone_sip, phone_rtp, switch_rtp = (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)
    )
    for sock in (phone_sip, phone_rtp, switch_rtp):
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    line = ImpairedLine(edge.getsockname(), Impairment(loss=0.1), Impairment(), seed=5).start()
    try:
        offer = sdp_of(phone_rtp.getsockname()[1])
        phone_sip.sendto(
            f"INVITE sip:800@x SIP/2.0\r\nContent-Length: {len(offer)}\r\n\r\n{offer}".encode(),
            line.sip_address,
        )
        edge.settimeout(2)
        invite, relay_address = edge.recvfrom(65536)
        relay_switch_side = int(invite.split(b"m=audio ")[1].split(b" ")[0])
        answer = sdp_of(switch_rtp.getsockname()[1])
        edge.sendto(
            f"SIP/2.0 200 OK\r\nContent-Length: {len(answer)}\r\n\r\n{answer}".encode(),
            relay_address,
        )
        ok = phone_sip.recv(65536)
        relay_phone_side = int(ok.split(b"m=audio ")[1].split(b" ")[0])
        assert {relay_switch_side, relay_phone_side}.isdisjoint(
            {phone_rtp.getsockname()[1], switch_rtp.getsockname()[1]}
        )

        for seq in range(1000):
            phone_rtp.sendto(rtp(seq), ("127.0.0.1", relay_phone_side))
            if seq % 5 == 0:
                time.sleep(0.001)  # at most a few packets a millisecond: no socket overruns
        received = []
        switch_rtp.settimeout(0.5)
        with pytest.raises(TimeoutError):
            while True:
                received.append(struct.unpack("!H", switch_rtp.recv(2048)[2:4])[0])
        assert 0.05 < 1 - len(received) / 1000 < 0.15, len(received)
        assert line.to_switch.counts.dropped == 1000 - len(received)
        assert line.relayed_payload_types["to_switch"] == {8: 1000}

        switch_rtp.sendto(rtp(1, payload_type=0), ("127.0.0.1", relay_switch_side))
        assert phone_rtp.recv(2048)[1] == 0  # the other way, unimpaired
    finally:
        line.stop()
        for sock in (edge, phone_sip, phone_rtp, switch_rtp):
            sock.close()
