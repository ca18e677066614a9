"""Garbage sent straight to a worker's SIP port (not through the edge): the worker survives.

Malformed SIP (the RFC 4475 torture set), an oversize datagram and random binary go to a real
worker's SIP socket; afterwards the worker still answers health checks and a real call.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.testing.deployment import SUPPORT, Deployment
from tests.harness.torture import TortureSender, torture_messages

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path)
    yield setup
    setup.close()


def garbage(seed: int = 16) -> list[bytes]:
    """Oversize and binary datagrams, and SIP-looking ones cut short (seeded)."""
    rng = random.Random(seed)
    binary = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1400))) for _ in range(40)]
    invite = (
        b"INVITE sip:800@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:800@127.0.0.1>\r\nCall-ID: junk\r\n"
        b"CSeq: 1 INVITE\r\nContent-Length: 100000\r\n\r\nv=0\r\n"
    )
    cut = [invite[: rng.randint(1, len(invite))] for _ in range(20)]
    oversize = [b"OPTIONS sip:x SIP/2.0\r\nX: " + b"A" * 65000 + b"\r\n\r\n", b"\x00" * 65000]
    return binary + cut + oversize + [b"\r\n\r\n", b"SIP/2.0 200 OK\r\n\r\n"]


def test_garbage_to_a_workers_sip_port_leaves_it_answering_calls(
    deployment: Deployment,
) -> None:
    worker = deployment.worker(1, deployment.config())
    target = ("127.0.0.1", worker.sip_port)
    with TortureSender(target) as sender:
        for message in torture_messages():
            sender.send(message, wait=0.2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in garbage():
            sock.sendto(datagram, target)
    assert worker.process.poll() is None, worker.log()
    assert worker.get("/health")["load"] == 0
    caller = deployment.phone("caller", record=False)
    call = caller.call(f"sip:{SUPPORT}@{worker.sip_uri_host}")
    caller.wait_for("state", call=call, state="confirmed", timeout=15)
    assert worker.get("/health")["load"] == 1
    caller.hangup(call)
    caller.wait_for("state", call=call, state="disconnected")
    assert worker.process.poll() is None, worker.log()
