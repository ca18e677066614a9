"""The call's record: every store write one conversation makes, queued on the store thread in order.

The ``calls`` row and its ``call_legs`` (`telephony.cdr`) and the moves of the call's agent
(`store.agents`) go through here, so they follow the call in the order it happened. Jobs never
capture a pjsua2 object (they run and die on the store thread): a leg is known by its id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from store import agents
from store.db import Database
from store.models import CallState, utcnow
from telephony import cdr


class RecordSwitch(Protocol):
    """The worker's store and its store thread."""

    @property
    def db(self) -> Database: ...

    @property
    def worker_id(self) -> int | None: ...

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None: ...


class CallRecord:
    """The CDR of one call and its agent's moves, written behind the call on the store thread."""

    def __init__(self, switch: RecordSwitch, call_id: str) -> None:
        self.switch = switch
        self.call_id = call_id
        self.rows: dict[str, int] = {}  # leg id -> call_legs.id, written by the store thread

    def _write(self, job: Callable[[Database, str], Any]) -> None:
        db, call_id = self.switch.db, self.call_id
        self.switch.store(lambda: job(db, call_id))

    # -- the calls row --------------------------------------------------------------------
    def opened(self, caller: str, dialled: str, direction: str = "inbound") -> None:
        worker_id, at = self.switch.worker_id, utcnow()
        self._write(
            lambda db, cid: cdr.open_call(db, cid, caller, dialled, worker_id, direction, at)
        )

    def update(self, **columns: Any) -> None:
        """Set columns of the call (``customer_id``, ``agent_id``, ``call_data``, ...)."""
        self._write(lambda db, cid: cdr.update_call(db, cid, **columns))

    def state(self, state: CallState, **columns: Any) -> None:
        self.update(state=state, **columns)

    def closed(self, outcome: str, call_data: dict[str, Any]) -> None:
        """The call's data as it ended, then the outcome (the first one wins)."""
        data = dict(call_data)
        self.update(call_data=data)
        at = utcnow()
        self._write(lambda db, cid: cdr.close_call(db, cid, outcome, at))

    # -- its legs ---------------------------------------------------------------------------
    def leg_added(self, leg_id: str, role: str, peer: str) -> None:
        rows, at = self.rows, utcnow()

        def write(db: Database, cid: str) -> None:
            rows[leg_id] = cdr.add_leg(db, cid, role, peer, at)

        self._write(write)

    def leg_answered(self, leg_id: str, sip_call_id: str | None) -> None:
        at = utcnow()
        self._leg(leg_id, lambda db, row: cdr.leg_answered(db, row, sip_call_id, at))

    def leg_ended(self, leg_id: str, reason: str) -> None:
        at = utcnow()
        self._leg(leg_id, lambda db, row: cdr.leg_ended(db, row, reason, at))

    def _leg(self, leg_id: str, job: Callable[[Database, int], None]) -> None:
        rows = self.rows
        self._write(lambda db, _cid: job(db, rows[leg_id]) if leg_id in rows else None)

    # -- the call's agent (`store.agents`) ------------------------------------------------------
    def agent_bridged(self, agent_id: int) -> None:
        """On call, claimed by this call (so a reaper can free them if this worker dies)."""
        self._write(lambda db, cid: agents.bridge(db, agent_id, cid))

    def agent_wrap_up(self, agent_id: int, reason: str) -> None:
        self._write(lambda db, _cid: agents.wrap_up(db, agent_id, reason))

    def agent_released(self, agent_id: int, reason: str) -> None:
        self._write(lambda db, _cid: agents.release(db, agent_id, reason))

    def agent_not_answered(self, agent_id: int) -> None:
        """A transfer rang them out: not ready, as after a missed offer from the line."""
        self._write(lambda db, _cid: agents.no_answer(db, agent_id))
