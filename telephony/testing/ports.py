"""Free loopback ports for test processes, so tests can run beside a live system."""

from __future__ import annotations

import random
import socket


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port the OS just handed out on 127.0.0.1 (UDP by default, TCP for HTTP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def rtp_base(span: int) -> int:
    """An even RTP base port above the live system's ranges whose first pair is free."""
    for _ in range(50):
        base = random.randrange(30000, 60000 - span, 2)
        if _udp_free(base) and _udp_free(base + 1):
            return base
    raise RuntimeError("no free RTP port range found")
