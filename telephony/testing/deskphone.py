"""A scripted desk phone speaking plain SIP over UDP, as a real one does towards the edge: it
registers with digest credentials, answers NOTIFY (a check-sync makes it fetch its files from
the provisioning URL with its MAC and token, as the vendor's firmware would; message-summary is
kept), rings on an INVITE and answers at once when it carries its vendor's intercom hint, and
hangs up. Like a phone's busy-lamp field it subscribes to the dialog event package of another
extension (RFC 4235) and keeps every NOTIFY's dialog-info. pjsua2 cannot show a test an
out-of-dialog NOTIFY, hence this phone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from hardware.provisioning import vendor


@dataclass
class Dialog:
    call_id: str
    local: str  # our To/From header value, with our tag
    remote: str  # theirs
    target: str  # their Contact URI
    routes: list[str]
    cseq: int = 1
    ended: bool = False


@dataclass
class DeskPhone:
    vendor_name: str
    mac: str
    token: str
    user: str
    password: str
    domain: str
    edge: tuple[str, int]
    provisioning_url: str
    notifies: list[tuple[str, str]] = field(default_factory=list)  # (Event, body)
    fetched: list[tuple[str, int]] = field(default_factory=list)  # (file, status)
    dialogs: list[Dialog] = field(default_factory=list)
    auto_answered: list[str] = field(default_factory=list)  # Call-IDs answered by intercom
    #: Without an intercom hint: False answers 486 at once; True rings (180) until `answer`.
    rings: bool = False
    ringing: dict[str, tuple[str, tuple[str, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        self.changed = threading.Condition()
        self.replies: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, name=f"deskphone-{self.user}",
                                       daemon=True)
        self.thread.start()

    # -- what a test does ----------------------------------------------------------------
    def register(self, timeout: float = 5.0) -> int:
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        authorization = ""
        for cseq in (1, 2):
            uri = f"sip:{self.domain}"
            headers = [
                f"REGISTER {uri} SIP/2.0", self._via(), "Max-Forwards: 70",
                f"From: <sip:{self.user}@{self.domain}>;tag={tag}",
                f"To: <sip:{self.user}@{self.domain}>", f"Call-ID: {call_id}",
                f"CSeq: {cseq} REGISTER", f"Contact: <{self.contact}>", "Expires: 300",
                f"User-Agent: {self.user_agent}",
            ]
            if authorization:
                headers.append(authorization)
            reply = self._request(headers, call_id, timeout)
            code = int(reply.split()[1])
            if code != 401:
                return code
            authorization = self._digest(reply, "REGISTER", uri)
        return code

    def subscribe(self, watched: str, expires: int = 600, timeout: float = 5.0) -> int:
        """SUBSCRIBE to *watched*'s dialog state (a BLF key); the final answer's code. The
        NOTIFYs that follow land in `notifies` as ("dialog", dialog-info body)."""
        return self.subscribe_event(watched, "dialog", expires, timeout)

    def subscribe_event(self, watched: str, event: str, expires: int = 600,
                        timeout: float = 5.0) -> int:
        """SUBSCRIBE to any event package of *watched* (with digest credentials)."""
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        uri = f"sip:{watched}@{self.domain}"
        authorization = ""
        code = 0
        for cseq in (1, 2):
            headers = [
                f"SUBSCRIBE {uri} SIP/2.0", self._via(), "Max-Forwards: 70",
                f"From: <sip:{self.user}@{self.domain}>;tag={tag}", f"To: <{uri}>",
                f"Call-ID: {call_id}", f"CSeq: {cseq} SUBSCRIBE", f"Contact: <{self.contact}>",
                f"Event: {event}", "Accept: application/dialog-info+xml",
                f"Expires: {expires}", f"User-Agent: {self.user_agent}",
            ]
            if authorization:
                headers.append(authorization)
            reply = self._request(headers, call_id, timeout)
            code = int(reply.split()[1])
            if code not in (401, 407):
                return code
            authorization = self._digest(reply, "SUBSCRIBE", uri)
            if code == 407:
                authorization = "Proxy-" + authorization
        return code

    def answer(self, call_id: str) -> Dialog:
        """Pick up a call that rings (`rings=True`)."""
        with self.changed:
            text, source = self.ringing.pop(call_id)
        return self._pick_up(text, source, intercom=False)

    def hang_up(self, dialog: Dialog) -> None:
        dialog.cseq += 1
        headers = [f"BYE {dialog.target} SIP/2.0", self._via(), "Max-Forwards: 70",
                   *[f"Route: {route}" for route in dialog.routes],
                   f"From: {dialog.local}", f"To: {dialog.remote}", f"Call-ID: {dialog.call_id}",
                   f"CSeq: {dialog.cseq} BYE"]
        self._request(headers, dialog.call_id, 5.0)
        dialog.ended = True

    def wait(self, condition: Any, timeout: float, what: str) -> Any:
        with self.changed:
            found = self.changed.wait_for(condition, timeout)
            if not found:
                raise AssertionError(f"desk phone {self.user}: no {what} within {timeout} s")
            return found

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        self.media.close()

    @property
    def contact(self) -> str:
        return f"sip:{self.user}@{self.address[0]}:{self.address[1]}"

    @property
    def user_agent(self) -> str:
        return {"yealink": "Yealink SIP-T54W 96.86.0.70", "snom": "snomD785/10.1.54.13",
                "polycom": "PolycomVVX-VVX_450-UA/6.4.3.5018"}.get(self.vendor_name, "Phone")

    # -- SIP -----------------------------------------------------------------------------
    def _via(self) -> str:
        host, port = self.address
        return f"Via: SIP/2.0/UDP {host}:{port};rport;branch=z9hG4bK{secrets.token_hex(8)}"

    def _send(self, text: str, to: tuple[str, int] | None = None) -> None:
        try:
            self.sock.sendto(text.encode(), to or self.edge)
        except OSError:
            if not self._stop:  # a request that arrived as the phone was put away: dropped
                raise

    def _request(self, headers: list[str], call_id: str, timeout: float) -> str:
        self._send("\r\n".join([*headers, "Content-Length: 0", "", ""]))

        def final() -> str | None:
            for reply in self.replies:
                if f"Call-ID: {call_id}" in reply and int(reply.split()[1]) >= 200:
                    self.replies.remove(reply)
                    return reply
            return None

        reply: str = self.wait(final, timeout, f"answer on {call_id}")
        return reply

    def _digest(self, challenge: str, method: str, uri: str) -> str:
        realm = _param(challenge, "realm")
        nonce = _param(challenge, "nonce")
        ha1 = _md5(f"{self.user}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        cnonce, nc = secrets.token_hex(4), "00000001"
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Authorization: Digest username="{self.user}", realm="{realm}", '
                f'nonce="{nonce}", uri="{uri}", response="{response}", algorithm=MD5, '
                f"qop=auth, nc={nc}, cnonce=\"{cnonce}\"")

    def _serve(self) -> None:
        while not self._stop:
            try:
                data, source = self.sock.recvfrom(65535)
            except OSError:
                return
            text = data.decode(errors="replace")
            if text.startswith("SIP/2.0"):
                with self.changed:
                    self.replies.append(text)
                    self.changed.notify_all()
                continue
            method = text.split(" ", 1)[0]
            if method == "NOTIFY":
                self._reply(text, source, 200)
                event, body = _header(text, "Event"), text.split("\r\n\r\n", 1)[-1]
                with self.changed:
                    self.notifies.append((event, body))
                    self.changed.notify_all()
                if event == vendor(self.vendor_name).resync_event:
                    threading.Thread(target=self._fetch, daemon=True).start()
            elif method == "INVITE":
                self._invited(text, source)
            elif method == "BYE":
                self._reply(text, source, 200)
                with self.changed:
                    for dialog in self.dialogs:
                        if dialog.call_id == _header(text, "Call-ID"):
                            dialog.ended = True
                    self.changed.notify_all()
            elif method == "CANCEL":
                self._reply(text, source, 200)
                with self.changed:
                    ringing = self.ringing.pop(_header(text, "Call-ID"), None)
                    self.changed.notify_all()
                if ringing is not None:  # the INVITE ends with 487
                    self._reply(ringing[0], ringing[1], 487, tag=self._tag_for(ringing[0]),
                                reason="Request Terminated")
            elif method == "ACK":
                pass
            elif method == "OPTIONS":
                self._reply(text, source, 200)

    def _invited(self, text: str, source: tuple[str, int]) -> None:
        hints = vendor(self.vendor_name).auto_answer_template
        intercom = all(
            re.fullmatch(re.escape(value).replace(r"\{host\}", ".*"), _header(text, name))
            for name, value in hints.items()
        )
        if not intercom and not self.rings:
            self._reply(text, source, 486, reason="Busy Here")
            return
        if not intercom:
            self._reply(text, source, 180, tag=self._tag_for(text), reason="Ringing")
            with self.changed:
                self.ringing[_header(text, "Call-ID")] = (text, source)
                self.changed.notify_all()
            return
        self._pick_up(text, source, intercom=True)

    def _tag_for(self, invite: str) -> str:
        """One To tag per INVITE, the same on its 180 and its 200."""
        return hashlib.sha1(_header(invite, "Call-ID").encode()).hexdigest()[:8]

    def _pick_up(self, text: str, source: tuple[str, int], intercom: bool) -> Dialog:
        tag = self._tag_for(text)
        host, port = self.media.getsockname()
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
               f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
        routes = re.findall(r"^Record-Route: *(.+?)\r?$", text, re.M)
        dialog = Dialog(
            call_id=_header(text, "Call-ID"),
            local=f"{_header(text, 'To')};tag={tag}",
            remote=_header(text, "From"),
            target=re.sub(r"^.*<([^>]+)>.*$", r"\1", _header(text, "Contact")),
            routes=[r.strip() for route in routes for r in route.split(",")],
        )
        self._reply(text, source, 200, tag=tag, body=sdp)
        with self.changed:
            self.dialogs.append(dialog)
            if intercom:
                self.auto_answered.append(dialog.call_id)
            self.changed.notify_all()
        return dialog

    def _reply(self, request: str, source: tuple[str, int], code: int, tag: str = "",
               body: str = "", reason: str = "OK") -> None:
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")
        copied = [line for line in head[1:] if re.match(
            r"(Via|From|Call-ID|CSeq|Record-Route):", line, re.I)]
        to = _header(request, "To") + (f";tag={tag}" if tag and ";tag=" not in
                                       _header(request, "To") else "")
        lines = [f"SIP/2.0 {code} {reason}", *copied, f"To: {to}", f"Contact: <{self.contact}>"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body)}", "", body]
        self._send("\r\n".join(lines), source)

    def _fetch(self) -> None:
        for name in vendor(self.vendor_name).file_names(self.mac):
            try:
                status = requests.get(self.provisioning_url + name, auth=(self.mac, self.token),
                                      headers={"User-Agent": self.user_agent},
                                      timeout=10).status_code
            except requests.RequestException:
                status = 0  # the server is unreachable: the firmware gives up
            with self.changed:
                self.fetched.append((name, status))
                self.changed.notify_all()


def _header(text: str, name: str) -> str:
    found = re.search(rf"^{name}: *(.*?)\r?$", text.split("\r\n\r\n", 1)[0], re.M | re.I)
    return found.group(1) if found else ""


def _param(header_text: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', header_text)
    return found.group(1) if found else ""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()
