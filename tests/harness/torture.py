"""The SIP torture test messages of RFC 4475 (``tests/data/rfc4475``), ready for the wire, and a
sender that throws them at a SIP port and cleans up any call it set up by accident."""

from __future__ import annotations

import re
import socket
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tests.harness.sipclient import SipResponse

DATA = Path(__file__).resolve().parent.parent / "data" / "rfc4475"
_HEX = re.compile(rb"<hex>([0-9A-Fa-f]*)</hex>")


@dataclass(frozen=True)
class TortureMessage:
    name: str
    section: str
    title: str
    kind: str  # valid | invalid | response
    via: str  # the top Via's sent-by in the RFC's text ("" for responses)
    wire: bytes  # the message as the RFC means it: CRLF line ends, hex spans as octets
    kamailio_drops: str = ""  # why Kamailio's parser drops this valid message, if it does

    @property
    def is_request(self) -> bool:
        return not self.wire.startswith(b"SIP/")

    def adapted(self, sender: tuple[str, int]) -> bytes:
        """The message with its top Via naming *sender*, so that answers come back to it."""
        if not self.via:
            return self.wire
        head, separator, body = self.wire.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        for index, line in enumerate(lines):
            if line.split(b":", 1)[0].strip().lower() in (b"via", b"v"):
                start = index  # the header may be folded over the next lines
                for end in range(start, len(lines)):
                    if self.via.encode() in lines[end]:
                        lines[end] = lines[end].replace(
                            self.via.encode(), f"{sender[0]}:{sender[1]}".encode(), 1
                        )
                        return b"\r\n".join(lines) + separator + body
                break
        raise ValueError(f"{self.name}: top Via does not name {self.via!r}")

    def body_length(self) -> int:
        """Octets after the blank line (the first message's, for a datagram holding two)."""
        return len(self.wire.partition(b"\r\n\r\n")[2])

    def declared_length(self) -> int | None:
        head = self.wire.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
        for line in head.split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() in ("content-length", "l") and value.strip().isdigit():
                return int(value)
        return None


def wire_form(text: bytes) -> bytes:
    """LF line ends become CRLF; ``<hex>..</hex>`` (RFC 4475 section 2.2) becomes octets."""
    crlf = text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return _HEX.sub(lambda match: bytes.fromhex(match.group(1).decode()), crlf)


def torture_messages() -> list[TortureMessage]:
    manifest = tomllib.loads((DATA / "manifest.toml").read_text())
    return [
        TortureMessage(name, entry["section"], entry["title"], entry["kind"],
                       entry.get("via", ""), wire_form((DATA / f"{name}.sip").read_bytes()),
                       entry.get("kamailio_drops", ""))
        for name, entry in manifest.items()
    ]


class TortureSender:
    """One UDP socket that sends torture messages to *target* and reads what comes back."""

    def __init__(self, target: tuple[str, int], local_ip: str = "127.0.0.1") -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.local: tuple[str, int] = self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> TortureSender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(self, message: TortureMessage, wait: float) -> list[SipResponse]:
        """Send *message*; every response that arrives within *wait* seconds of the last one."""
        self.sock.sendto(message.adapted(self.local), self.target)
        answers: list[SipResponse] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                break
            if not data.startswith(b"SIP/2.0 "):
                continue  # a request (a retransmitted BYE or the like): not an answer
            answers.append(SipResponse.parse(data))
            if answers[-1].status >= 200:
                self._finish(answers[-1])
                deadline = time.monotonic() + 0.05  # a final answer: only stragglers remain
        return answers

    def _finish(self, answer: SipResponse) -> None:
        """A torture INVITE that a peer answered 2xx set up a call: ACK and end it."""
        cseq = (answer.header("cseq") or "").split()
        if answer.status >= 300 or len(cseq) != 2 or cseq[1].upper() != "INVITE":
            return
        contact = (answer.header("contact") or answer.header("m") or "").strip()
        target = contact[contact.find("<") + 1 : contact.find(">")] if "<" in contact else contact
        if not target:
            return
        for method, number in (("ACK", cseq[0]), ("BYE", str(int(cseq[0]) + 1))):
            request = "\r\n".join([
                f"{method} {target} SIP/2.0",
                f"Via: SIP/2.0/UDP {self.local[0]}:{self.local[1]};rport;branch=z9hG4bK{method}"
                f"{time.monotonic_ns()}",
                "Max-Forwards: 70",
                f"From: {answer.header('from')}",
                f"To: {answer.header('to')}",
                f"Call-ID: {answer.header('call-id') or answer.header('i')}",
                f"CSeq: {number} {method}",
                "Content-Length: 0",
                "", "",
            ])
            self.sock.sendto(request.encode(), self.target)
