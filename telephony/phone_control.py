"""The switch drives desk phones: the NOTIFYs the store has queued (check-sync, reboot,
message waiting) go out through the edge's switch socket, the one socket Kamailio trusts to
carry them to devices, and each answer is written back.

One `PhoneCommandKind` per command in `KINDS` (the ``Event:`` comes from the phone's vendor in
`hardware.provisioning`); a check-sync or reboot for a phone that is on a live call (a dialog
the edge relays) is held until the call ends, but not for ever: after ``hold_seconds`` (a
dialog whose BYE the edge never saw can stay open for hours) it is given up as ``expired``
with the reason recorded. Run by the edge process (`PhoneControl.run`).
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hardware.provisioning import vendor
from store.db import Database
from store.desk_phones import EXPIRED, FAILED, HELD, SENT, open_commands
from store.models import Device, PhoneCommand, utcnow
from store.settings import Settings

log = logging.getLogger(__name__)

#: RFC 3261 timer T1 (s): retransmissions at 0.5, 1, 2, 4 s until the final answer.
T1 = 0.5


@dataclass(frozen=True)
class PhoneCommandKind:
    """How one command is written: its ``Event:``, its body, and whether it waits for calls."""

    event: Callable[[str], str]  # vendor name -> Event header value
    waits_for_calls: bool
    content_type: str = ""
    body: Callable[[PhoneCommand, Device, str], str] = lambda command, device, domain: ""


def _message_summary(command: PhoneCommand, device: Device, domain: str) -> str:
    new, old = int(command.payload.get("new", 0)), int(command.payload.get("old", 0))
    return (
        f"Messages-Waiting: {'yes' if new else 'no'}\r\n"
        f"Message-Account: sip:{device.extension}@{domain}\r\n"
        f"Voice-Message: {new}/{old} (0/0)\r\n"
    )


KINDS: dict[str, PhoneCommandKind] = {
    "check-sync": PhoneCommandKind(lambda name: vendor(name).resync_event, True),
    "reboot": PhoneCommandKind(lambda name: vendor(name).reboot_event, True),
    "mwi": PhoneCommandKind(
        lambda name: "message-summary", False, "application/simple-message-summary",
        _message_summary,
    ),
}


@dataclass(frozen=True)
class Answer:
    code: int  # 0: no answer
    reason: str
    text: str = ""  # the whole final response


def send_to_edge(settings: Settings, template: str, timeout: float) -> Answer:
    """Send one request (``{via}`` is filled in with our socket) to the edge's switch socket
    and wait for its final answer, retransmitting as RFC 3261 says for UDP."""
    edge = (settings.edge_switch_address, settings.edge_switch_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((settings.edge_switch_address, 0))
        host, port = sock.getsockname()
        data = template.replace("{via}", f"{host}:{port}").encode()
        deadline = time.monotonic() + timeout
        interval = T1
        sock.sendto(data, edge)
        next_send = time.monotonic() + interval
        while (now := time.monotonic()) < deadline:
            sock.settimeout(max(0.01, min(next_send, deadline) - now))
            try:
                reply = sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                if time.monotonic() >= next_send:
                    sock.sendto(data, edge)
                    interval = min(interval * 2, 4.0)
                    next_send = time.monotonic() + interval
                continue
            status = re.match(r"SIP/2\.0 (\d{3}) ?([^\r\n]*)", reply)
            if status and int(status.group(1)) >= 200:
                return Answer(int(status.group(1)), status.group(2), reply)
    return Answer(0, "no answer")


def live_call_users(dialog_dump: str) -> set[str]:
    """User parts of From and To of every dialog in ``kamcmd dlg.list`` output that is not
    over (states 1-4: unconfirmed, early, confirmed without and with ACK)."""
    users: set[str] = set()
    for block in re.split(r"\n(?=\{)", dialog_dump):
        state = re.search(r"^\s*state:\s*(\d+)", block, re.M)
        if state is None or int(state.group(1)) >= 5:
            continue
        for uri in re.findall(r"^\s*(?:from_uri|to_uri):\s*(\S+)", block, re.M):
            user = re.match(r"(?:sips?:)?([^@;>]+)@", uri.strip("<>"))
            if user:
                users.add(user.group(1))
    return users


class PhoneControl:
    """Sends what `store.desk_phones` has queued; *live_calls* names the users on a call."""

    def __init__(self, db: Database, settings: Settings,
                 live_calls: Callable[[], set[str]], answer_timeout: float = 8.0,
                 hold_seconds: float | None = None) -> None:
        self.db = db
        self.settings = settings
        self.live_calls = live_calls
        self.answer_timeout = answer_timeout
        self.hold_seconds = settings.phone_hold_seconds if hold_seconds is None else hold_seconds

    def run_once(self) -> list[tuple[int, str]]:
        """One pass over the open commands; returns (command id, new state) for each."""
        with self.db.session() as session:
            pending = [(c.id, c.kind) for c, _, _ in open_commands(session)]
        if not pending:
            return []
        busy = self.live_calls()
        outcomes = []
        for command_id, kind in pending:
            outcomes.append((command_id, self._handle(command_id, KINDS[kind], busy)))
        return outcomes

    def _handle(self, command_id: int, kind: PhoneCommandKind, busy: set[str]) -> str:
        with self.db.session() as session:
            command = session.get(PhoneCommand, command_id)
            assert command is not None
            device = session.get(Device, command.device_id)
            assert device is not None
            on_call = {device.extension, device.sip_username} & busy
            if kind.waits_for_calls and on_call:
                waited = (utcnow() - command.created_at).total_seconds()
                if waited >= self.hold_seconds:
                    log.warning("event=phone.gave_up device=%s kind=%s waited_s=%.0f "
                                "reason=still-in-a-dialog", device.extension, command.kind,
                                waited)
                    command.state = EXPIRED
                    command.reason = (
                        f"gave up after {self.hold_seconds:g} s: the phone was still in a "
                        "dialog (a long call, or one whose end the edge never saw)"
                    )
                    return EXPIRED
                if command.state != HELD:
                    log.info("event=phone.held device=%s kind=%s reason=on-a-call",
                             device.extension, command.kind)
                command.state, command.reason = HELD, "waiting for the phone's call to end"
                return HELD
            vendor_name = device.vendor or "yealink"
            request = self._notify(device, kind.event(vendor_name), kind.content_type,
                                   kind.body(command, device, self._domain(device)))
            extension, kind_name = device.extension, command.kind
        answer = self.send(request)  # outside the session: it may take seconds
        with self.db.session() as session:
            command = session.get(PhoneCommand, command_id)
            assert command is not None
            command.attempts += 1
            command.answer_code = answer.code or None
            command.sent_at = utcnow()
            if 200 <= answer.code < 300:
                command.state, command.reason = SENT, None
            else:
                command.state, command.reason = FAILED, _why(answer)
            log.info("event=phone.notify device=%s kind=%s code=%d state=%s", extension,
                     kind_name, answer.code, command.state)
            return command.state

    def _domain(self, device: Device) -> str:
        return device.sip_domain or self.settings.sip_domain

    def _notify(self, device: Device, event: str, content_type: str, body: str) -> str:
        edge = f"{self.settings.edge_switch_address}:{self.settings.edge_switch_port}"
        domain = self._domain(device)
        lines = [
            f"NOTIFY sip:{device.sip_username}@{edge} SIP/2.0",
            "Via: SIP/2.0/UDP {via};rport;branch=z9hG4bK" + secrets.token_hex(8),
            "Max-Forwards: 70",
            f"From: <sip:centralino@{domain}>;tag={secrets.token_hex(6)}",
            f"To: <sip:{device.sip_username}@{domain}>",
            f"Call-ID: {secrets.token_hex(12)}@centralino",
            "CSeq: 1 NOTIFY",
            "Contact: <sip:centralino@{via}>",
            f"Event: {event}",
            "Subscription-State: terminated;reason=noresource",
            "User-Agent: Centralino",
        ]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def send(self, template: str) -> Answer:
        """Send one request to the edge's switch socket and wait for its final answer."""
        return send_to_edge(self.settings, template, self.answer_timeout)

    def run(self, stopping: threading.Event, interval: float) -> None:
        """Until *stopping*: send what is owed every *interval* seconds."""
        while not stopping.wait(interval):
            try:
                self.run_once()
            except Exception:  # a busy database or a restarting Kamailio: try again
                log.exception("could not drive the desk phones")


def _why(answer: Answer) -> str:
    if answer.code == 0:
        return "the phone did not answer the NOTIFY"
    if answer.code in (404, 480):
        return f"the phone is not registered ({answer.code} {answer.reason})"
    return f"the phone refused the NOTIFY ({answer.code} {answer.reason})"

