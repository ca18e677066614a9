"""Agents' states on desk phones' line keys: the switch PUBLISHes each agent's state as the
dialog state of the presentity ``agent-<extension>`` (RFC 4235 dialog-info) through the edge's
switch socket, so the presence server NOTIFYs every phone whose key watches it: ringing is
``early`` (blinking), available is ``terminated`` (dark), anything else, on a call, wrap-up,
paused, logged out, is ``confirmed`` (lit: not taking calls). Run by the edge process beside
the phone commands (`AgentLamps.run`): a state is published when it changes and refreshed
before it expires.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from store.db import Database
from store.models import Agent, AgentState, Device
from store.settings import Settings
from telephony.phone_control import Answer, send_to_edge

log = logging.getLogger(__name__)

#: Agent state -> the dialog state its lamp shows.
LAMP_STATES: dict[AgentState, str] = {
    AgentState.AVAILABLE: "terminated",
    AgentState.RINGING: "early",
}
LIT = "confirmed"
#: Lifetime of one publication; it is refreshed when half of it has passed.
EXPIRES_SECONDS = 600


def lamp_state(state: AgentState) -> str:
    return LAMP_STATES.get(state, LIT)


def presentity(extension: str) -> str:
    return f"agent-{extension}"


def dialog_info(entity: str, state: str) -> str:
    """The dialog-info document of one agent's state (one dialog, always the same id)."""
    return (
        '<?xml version="1.0"?>\r\n'
        '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" '
        f'entity="{entity}">\r\n'
        f'  <dialog id="{entity.split(":", 1)[-1].split("@")[0]}" direction="recipient">'
        f"<state>{state}</state></dialog>\r\n"
        "</dialog-info>\r\n"
    )


@dataclass
class Published:
    state: str
    etag: str
    at: float


class AgentLamps:
    """Publishes what `lamp_state` says for every agent with a device, when it changes."""

    def __init__(self, db: Database, settings: Settings, answer_timeout: float = 4.0) -> None:
        self.db = db
        self.settings = settings
        self.answer_timeout = answer_timeout
        self.published: dict[str, Published] = {}  # extension -> the last publication

    def run_once(self) -> list[tuple[str, str]]:
        """One pass; returns (extension, lamp state) of each publication made."""
        with self.db.session() as session:
            rows = session.execute(
                select(Device.extension, Agent.state)
                .join(Device, Device.id == Agent.device_id)
                .where(Agent.disabled_at.is_(None))
            ).all()
        made = []
        now = time.monotonic()
        for extension, state in rows:
            wanted = lamp_state(state)
            last = self.published.get(extension)
            if last and last.state == wanted and now - last.at < EXPIRES_SECONDS / 2:
                continue
            if self.publish(extension, wanted):
                made.append((extension, wanted))
        return made

    def publish(self, extension: str, state: str) -> bool:
        last = self.published.get(extension)
        answer = self._send(extension, state, last.etag if last else "")
        if answer.code == 412 and last:  # the edge forgot us (restarted): publish afresh
            answer = self._send(extension, state, "")
        etag = re.search(r"^SIP-ETag: *(\S+)", answer.text, re.M | re.I)
        if not 200 <= answer.code < 300 or etag is None:
            log.warning("event=lamp.refused extension=%s state=%s code=%d", extension, state,
                        answer.code)
            self.published.pop(extension, None)
            return False
        self.published[extension] = Published(state, etag.group(1), time.monotonic())
        log.info("event=lamp.published extension=%s state=%s", extension, state)
        return True

    def _send(self, extension: str, state: str, etag: str) -> Answer:
        domain = self.settings.sip_domain
        entity = f"sip:{presentity(extension)}@{domain}"
        body = dialog_info(entity, state)
        lines = [  # the presentity is the Request-URI: in our domain, like the watchers'
            f"PUBLISH {entity} SIP/2.0",
            "Via: SIP/2.0/UDP {via};rport;branch=z9hG4bK" + secrets.token_hex(8),
            "Max-Forwards: 70",
            f"From: <{entity}>;tag={secrets.token_hex(6)}",
            f"To: <{entity}>",
            f"Call-ID: {secrets.token_hex(12)}@centralino",
            "CSeq: 1 PUBLISH",
            "Event: dialog",
            f"Expires: {EXPIRES_SECONDS}",
            "User-Agent: Centralino",
            "Content-Type: application/dialog-info+xml",
        ]
        if etag:
            lines.append(f"SIP-If-Match: {etag}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return send_to_edge(self.settings, "\r\n".join(lines) + "\r\n\r\n" + body,
                            self.answer_timeout)

    def run(self, stopping: threading.Event, interval: float) -> None:
        """Until *stopping*: publish what changed every *interval* seconds."""
        while not stopping.wait(interval):
            try:
                self.run_once()
            except Exception:  # a busy database or a restarting Kamailio: try again
                log.exception("could not publish the agents' states")
