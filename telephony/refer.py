"""What a REFER may ask of us: its Refer-To read strictly, and the transfer it may become.

pjsua dials a REFER's Refer-To itself, verbatim, whenever the application answers it with a
2xx, and pjsua2 gives no way to change that target. So a worker answers every REFER with a
final refusal and pjsua never dials: from a caller's leg (or a consultation, or a leg being let
go) it is refused with 403; from the agent's leg, when it names an allowed target (an extension
of a known device, or a support number, i.e. its queue, on one of our hosts), the conversation
performs the blind transfer as the B2BUA (`Conversation.transfer`) and the REFER is answered
603, since the agent's phone is let go by our BYE rather than by a NOTIFY. Attended transfers
from a phone (Refer-To with ``Replaces``) are refused: the console's attended transfer does it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: The REFER asked for something we do not allow: nothing happens.
REFUSED = 403
#: The REFER named an allowed target: pjsua must not dial it, the conversation transfers.
TAKEN_OVER = 603
#: Users we accept in a Refer-To: extensions, support numbers (no escapes, no passwords).
_USER = re.compile(r"[A-Za-z0-9+*._-]{1,32}")
QUEUE_PREFIX = "queue:"


class ReferRefused(ValueError):
    """Why a REFER is refused (logged and published, never sent back to the phone)."""


@dataclass(frozen=True)
class ReferTo:
    """The parts of a Refer-To header value that decide a transfer."""

    user: str
    host: str

    @classmethod
    def parse(cls, value: str) -> ReferTo:
        """``<sip:1002@pbx.example.org;transport=udp>`` -> user ``1002``, host
        ``pbx.example.org``; anything else raises `ReferRefused` with a reason."""
        text = value.strip()
        if "<" in text:
            start, end = text.find("<"), text.find(">")
            if end < start:
                raise ReferRefused("Refer-To has an unclosed <")
            uri = text[start + 1 : end]
        else:
            uri = text.split(";", 1)[0]
        scheme, colon, rest = uri.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise ReferRefused("Refer-To is not a SIP URI")
        if "?" in rest:
            raise ReferRefused("Refer-To carries headers (e.g. Replaces): not supported")
        userinfo, at, hostport = rest.split(";", 1)[0].rpartition("@")
        if not at or not _USER.fullmatch(userinfo):
            raise ReferRefused("Refer-To names no extension or number we know the form of")
        return cls(userinfo, _host_of(hostport))


@dataclass(frozen=True)
class TransferTargets:
    """Where a REFER from an agent may send the caller, as known to the worker."""

    hosts: frozenset[str] = frozenset()  # names meaning "this deployment" (domain, edge address)
    extensions: frozenset[str] = frozenset()  # every device's extension
    queues: Mapping[str, str] = field(default_factory=dict)  # support number -> its queue

    @classmethod
    def of(
        cls, hosts: Iterable[str], extensions: Iterable[str], queues: Mapping[str, str]
    ) -> TransferTargets:
        return cls(frozenset(h.lower() for h in hosts), frozenset(extensions), dict(queues))

    def target(self, refer_to: str) -> str:
        """The `Conversation.transfer` target for a Refer-To value (an extension or
        ``queue:<name>``); raises `ReferRefused` for anything else."""
        parsed = ReferTo.parse(refer_to)
        if parsed.host not in self.hosts:
            raise ReferRefused(f"Refer-To host {parsed.host!r} is not this deployment")
        if parsed.user in self.extensions:
            return parsed.user
        if parsed.user in self.queues:
            return QUEUE_PREFIX + self.queues[parsed.user]
        raise ReferRefused(f"{parsed.user!r} is neither an extension nor a support number")


def _host_of(hostport: str) -> str:
    host = hostport.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host
