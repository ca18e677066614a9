"""A supervisor on a live call: listen, whisper or barge through a third leg (the monitor leg).

`Monitor` dials the supervisor's device (through the edge, like an agent's) as a ``monitor``
leg of the call's `Conversation` and wires the conference bridge one way per direction:

- ``listen``: caller -> supervisor, agent -> supervisor;
- ``whisper``: listen, plus supervisor -> agent (the caller never hears the supervisor);
- ``barge``: whisper, plus supervisor -> caller (everyone hears everyone).

The mode may change at any time (`switch`); leaving (`leave`, or the supervisor hanging up)
only ends the monitor leg. Admission counts the leg: when the worker has no room for it, the
request is refused with `NoRoom` (the API's 503). Every session is audited in
``monitor_sessions`` (who, which call, each mode with its time, when it ended and why).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from store.models import utcnow
from store.supervision import MonitorSession
from telephony.bridge import feed, unfeed
from telephony.leg import MONITOR, Leg

if TYPE_CHECKING:
    from telephony.conversation import Conversation

#: Mode -> (the supervisor is heard by the agent, by the caller).
MODES: dict[str, tuple[bool, bool]] = {
    "listen": (False, False),
    "whisper": (True, False),
    "barge": (True, True),
}


class NoRoom(RuntimeError):
    """The worker has no room for another leg (pjsua2's per-process limit)."""


def request(conversation: Conversation, data: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /calls/<id>/monitor``: ``{"mode": "listen"|"whisper"|"barge", "extension",
    "supervisor_id"}`` starts a session (or switches the mode of the one running);
    ``{"mode": "leave"}`` ends it. ValueError for a bad request (409), NoRoom (503)."""
    mode = data.get("mode")
    running = conversation.monitor
    if mode == "leave":
        if running is None:
            raise ValueError("no supervisor is on this call")
        running.leave()
        return {"mode": "left"}
    if not isinstance(mode, str):
        raise ValueError("the mode is one of listen, whisper, barge or leave")
    Monitor.check_mode(mode)
    if running is not None:
        return running.switch(mode)
    extension, supervisor = data.get("extension"), data.get("supervisor_id")
    if not isinstance(extension, str) or not extension.isdigit() or len(extension) > 32:
        raise ValueError('"extension" (the supervisor\'s device) is required')
    if not isinstance(supervisor, int) or isinstance(supervisor, bool):
        raise ValueError('"supervisor_id" is required')
    monitor = Monitor(conversation, supervisor, extension, mode)
    result = monitor.start()
    conversation.monitor = monitor
    return result


class Monitor:
    """One supervisor's session on one call; every method runs on the worker's loop."""

    def __init__(
        self, conversation: Conversation, supervisor_id: int, extension: str, mode: str
    ) -> None:
        self.conversation = conversation
        self.supervisor_id = supervisor_id
        self.extension = extension
        self.mode = mode
        self.leg: Leg | None = None
        self._wired: list[tuple[Any, Leg]] = []  # (source media, leg it feeds)
        self.modes: list[dict[str, str]] = []
        self.audit = MonitorAudit(conversation.switch)

    @staticmethod
    def check_mode(mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"the mode is one of {', '.join(MODES)}")
        return mode

    def start(self) -> dict[str, Any]:
        call = self.conversation
        if call.agent is None or not call.was_bridged:
            raise ValueError("the call has no agent to monitor yet")
        if not call.switch.has_room(1):
            raise NoRoom("this worker has no room for another leg; try again when a call ends")
        self.leg = call.dial(MONITOR, self.extension)
        self._note_mode(self.mode)
        call.publish(
            "monitor.started",
            self.leg,
            mode=self.mode,
            extension=self.extension,
            supervisor_id=self.supervisor_id,
        )
        self._audit_start()
        return self.describe()

    def switch(self, mode: str) -> dict[str, Any]:
        self.mode = self.check_mode(mode)
        self._note_mode(mode)
        self.wire()
        self.conversation.publish("monitor.mode", self.leg, mode=mode)
        self._audit(modes=list(self.modes))
        return self.describe()

    def leave(self, reason: str = "left") -> None:
        self.unwire()
        leg = self.leg
        if leg is not None and leg.state != "disconnected":
            with contextlib.suppress(pj.Error):
                leg.hangup(pj.CallOpParam(True))
        self._gone(reason)

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "leg": self.leg.id if self.leg else None,
            "session": self.audit.session_id,
            "extension": self.extension,
        }

    # --- the conversation tells us ---------------------------------------------------------

    def on_media(self, leg: Leg) -> None:
        if self.leg is not None and leg in (
            self.leg,
            self.conversation.customer,
            self.conversation.agent,
        ):
            self.wire()

    def on_gone(self, leg: Leg) -> None:
        if leg is self.leg:
            self.unwire()
            self._gone("supervisor hung up")
        elif leg is self.conversation.agent or leg is self.conversation.customer:
            self.wire()

    # --- the bridge -----------------------------------------------------------------------

    def wire(self) -> None:
        """Connect what the mode wants and nothing else; connections that stay are left
        alone (a switch from listen to whisper only adds the supervisor -> agent path)."""
        call, me = self.conversation, self.leg
        wanted: list[tuple[Any, Leg]] = []
        if me is not None and me.media is not None and me.audio_ready:
            to_agent, to_caller = MODES[self.mode]
            for other in (call.customer, call.agent):
                if other is not None and other.media is not None:
                    wanted.append((other.media, me))
            if to_agent and call.agent is not None:
                wanted.append((me.media, call.agent))
            if to_caller and call.customer is not None:
                wanted.append((me.media, call.customer))
        for source, leg in self._wired:
            if not any(source is s and leg is target for s, target in wanted):
                unfeed(source, leg)
        for source, leg in wanted:
            if not any(source is s and leg is target for s, target in self._wired):
                feed(source, leg)
        self._wired = wanted

    def unwire(self) -> None:
        for source, leg in self._wired:
            unfeed(source, leg)
        self._wired = []

    # --- bookkeeping ----------------------------------------------------------------------

    def _gone(self, reason: str) -> None:
        call = self.conversation
        if call.monitor is self:
            call.monitor = None
            call.publish("monitor.ended", self.leg, reason=reason)
            self._audit(ended_at=utcnow(), end_reason=reason, modes=list(self.modes))

    def _note_mode(self, mode: str) -> None:
        self.modes.append({"mode": mode, "at": utcnow().isoformat(timespec="milliseconds") + "Z"})

    def _audit_start(self) -> None:
        call = self.conversation
        self.audit.start(
            call.id, self.supervisor_id, self.extension, call.switch.events.worker, self.modes
        )

    def _audit(self, **values: Any) -> None:
        self.audit.update(values)


class MonitorAudit:
    """The session's ``monitor_sessions`` row, written on the store thread in order (it holds
    no pjsua2 object, so store jobs never keep a leg alive)."""

    def __init__(self, switch: Any) -> None:
        self.db = switch.db
        self.store = switch.store
        self.session_id: int | None = None

    def start(
        self, call_id: str, supervisor_id: int, extension: str, worker: str, modes: list[Any]
    ) -> None:
        row = MonitorSession(
            call_id=call_id,
            supervisor_id=supervisor_id,
            extension=extension,
            worker=worker,
            modes=list(modes),
        )

        def write() -> None:
            with self.db.session() as session:
                session.add(row)
                session.flush()
                self.session_id = int(row.id)

        self.store(write)

    def update(self, values: dict[str, Any]) -> None:
        def write() -> None:
            if self.session_id is not None:
                with self.db.session() as session:
                    session.query(MonitorSession).filter_by(id=self.session_id).update(values)

        self.store(write)
