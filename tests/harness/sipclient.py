"""A small raw-socket SIP user agent for edge tests: REGISTER/INVITE with digest, and garbage.

It speaks just enough RFC 3261 over UDP to exercise Kamailio from outside: requests with
digest authentication (RFC 2617, with or without qop), reading final responses, ACKing
failures, and sending arbitrary bytes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time
from dataclasses import dataclass, field


@dataclass
class SipResponse:
    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @classmethod
    def parse(cls, data: bytes) -> SipResponse:
        head, _, _body = data.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        match = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not match:
            raise ValueError(f"not a SIP response: {lines[0]!r}")
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        return cls(int(match.group(1)), match.group(2), headers, data)


@dataclass
class SipRequest:
    """A request as a test peer received it (a phone or a worker the edge relayed to)."""

    method: str
    uri: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    raw: bytes = b""
    source: tuple[str, int] = ("", 0)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def has(self, name: str) -> bool:
        return name.lower() in self.headers

    @classmethod
    def parse(cls, data: bytes, source: tuple[str, int] = ("", 0)) -> SipRequest:
        head, _, _body = data.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        method, uri, _version = lines[0].split(" ", 2)
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(_LONG_NAMES.get(name.strip().lower(), name.strip().lower()),
                               []).append(value.strip())
        return cls(method, uri, headers, data, source)


#: Compact header forms (RFC 3261 7.3.3) as their long names, lower case.
_LONG_NAMES = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type", "k": "supported"}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_authorization(
    challenge: str, method: str, uri: str, username: str, password: str
) -> str:
    """The Authorization header value answering a ``WWW/Proxy-Authenticate`` challenge."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.removeprefix("Digest ")))
    realm, nonce = params["realm"], params["nonce"]
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
              'algorithm=MD5']
    if "qop" in params:
        cnonce, nc = secrets.token_hex(8), "00000001"
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += [f'cnonce="{cnonce}"', f"nc={nc}", "qop=auth"]
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


class SipClient:
    """One UDP socket talking to *server*; each request gets its own Call-ID unless given."""

    def __init__(self, server: tuple[str, int], local_ip: str = "127.0.0.1",
                 user_agent: str = "centralino-test") -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.local = self.sock.getsockname()
        self.user_agent = user_agent
        self._cseq = 0

    @property
    def uri_self(self) -> str:
        """``host:port`` of this client's own socket (its Contact)."""
        return f"{self.local[0]}:{self.local[1]}"

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def next_request(self, timeout: float, method: str | None = None) -> SipRequest | None:
        """The next request someone sends to this socket (of *method*, if given), or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            if not data.split(b"\r\n", 1)[0].endswith(b" SIP/2.0"):
                continue  # a response, or not SIP at all
            request = SipRequest.parse(data, source)
            if method is None or request.method == method:
                return request
        return None

    def reply(self, request: SipRequest, status: int, reason: str, to_tag: str = "",
              contact: bool = False) -> None:
        """Answer *request* as a UAS (Via, Record-Route, From, To, Call-ID and CSeq echoed)."""
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {via}" for via in request.headers.get("via", [])]
        lines += [f"Record-Route: {rr}" for rr in request.headers.get("record-route", [])]
        to = request.header("to") or ""
        if to_tag and "tag=" not in to:
            to += f";tag={to_tag}"
        lines += [f"From: {request.header('from')}", f"To: {to}",
                  f"Call-ID: {request.header('call-id')}", f"CSeq: {request.header('cseq')}"]
        if contact:
            lines.append(f"Contact: <sip:peer@{self.local[0]}:{self.local[1]}>")
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), request.source)

    def receive(self, timeout: float) -> SipResponse | None:
        """The next response, or None when nothing arrives within *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            if data.startswith(b"SIP/2.0"):
                return SipResponse.parse(data)
        return None

    def build(self, method: str, uri: str, from_user: str, to_user: str, call_id: str,
              extra: dict[str, str] | None = None, body: str = "", to_tag: str = "",
              from_tag: str = "t1", cseq: int | None = None) -> bytes:
        if cseq is None:
            self._cseq += 1
            cseq = self._cseq
        host = f"{self.server[0]}:{self.server[1]}"
        branch = f"z9hG4bK{secrets.token_hex(6)}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.local[0]}:{self.local[1]};rport;branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:{from_user}@{host}>;tag={from_tag}",
            f"To: <sip:{to_user}@{host}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{from_user}@{self.local[0]}:{self.local[1]}>",
            f"User-Agent: {self.user_agent}",
        ]
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def final_response(self, timeout: float) -> SipResponse | None:
        """Skip provisional responses; return the first final one."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            response = self.receive(left)
            if response is None or response.status >= 200:
                return response
        return None

    def request(self, method: str, uri: str, from_user: str, to_user: str,
                password: str | None = None, extra: dict[str, str] | None = None,
                body: str = "", timeout: float = 5.0) -> SipResponse | None:
        """Send a request, answer one digest challenge if *password* is given, return the
        final response (failures to INVITE are ACKed)."""
        call_id = f"{secrets.token_hex(8)}@{self.local[0]}"
        headers = dict(extra or {})
        response = None
        for _attempt in range(2):
            self.send_raw(self.build(method, uri, from_user, to_user, call_id, headers, body))
            response = self.final_response(timeout)
            if response is None:
                return None
            if method == "INVITE" and response.status >= 300:
                self.ack(uri, from_user, to_user, call_id, response)
            if response.status not in (401, 407) or password is None:
                return response
            header_name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            answer_name = "Authorization" if response.status == 401 else "Proxy-Authorization"
            challenge = response.header(header_name) or ""
            headers[answer_name] = digest_authorization(challenge, method, uri, from_user, password)
        return response

    def ack(self, uri: str, from_user: str, to_user: str, call_id: str,
             response: SipResponse) -> None:
        to_value = response.header("to") or ""
        tag = to_value.split("tag=")[1].split(";")[0] if "tag=" in to_value else ""
        cseq = int((response.header("cseq") or "1 INVITE").split()[0])
        via = response.header("via") or ""
        ack = self.build("ACK", uri, from_user, to_user, call_id, to_tag=tag, cseq=cseq)
        branch = re.search(r"branch=([^;]+)", via)
        if branch:  # a non-2xx ACK reuses the INVITE's branch (same transaction)
            ack = re.sub(rb"branch=[^;\r]+", b"branch=" + branch.group(1).encode(), ack, count=1)
        self.send_raw(ack)

    def register(self, user: str, password: str | None, domain: str, expires: int = 300,
                 timeout: float = 5.0) -> SipResponse | None:
        return self.request("REGISTER", f"sip:{domain}", user, user, password,
                            {"Expires": str(expires)}, timeout=timeout)

    def options(self, timeout: float = 2.0) -> SipResponse | None:
        host = f"{self.server[0]}:{self.server[1]}"
        return self.request("OPTIONS", f"sip:{host}", "probe", "probe", timeout=timeout)


def sdp_offer(ip: str = "127.0.0.1", port: int = 40000) -> str:
    """A minimal PCMU audio offer (the edge never looks at media, workers do)."""
    return (f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
