"""The agent state machine: an agent's states, the moves between them, and who makes each move.

Every write of ``agents.state`` goes through `move`, a compare-and-set ``UPDATE ... WHERE
state IN (allowed sources)``, so two processes never both win a move and a refused move
changes nothing (it returns False). `TRANSITIONS` is the whole story; in words:

- the worker (`telephony.router`, `telephony.conversation`): ``claim`` an available agent
  for a call (ringing), ``unclaim`` or ``withdraw`` the offer (available again), ``answer``
  (on call), ``bridge`` (still on call, now claimed by the bridged call, so a reaper can free
  them), ``no_answer`` (not ready), ``wrap_up`` after a bridged call or a transfer,
  ``release`` after a call the agent never got, ``end_wrap_up`` when the wrap-up time is over;
  whoever reaps a dead worker: ``reap`` the agents its open calls had claimed;
- the console (`console.agent.actions`, `console.auth.views`): the agent's own ``ready``,
  ``pause``, ``log_out`` (also at sign-out), never while ringing or on a call, and
  ``finish_wrap_up`` (the wrap-up form), which also frees an agent the worker still holds.

So an agent becomes available by: an offer taken back (``unclaim``, ``withdraw``), a call
they never got (``release``), the end of wrap-up (``end_wrap_up``, ``finish_wrap_up``), their
own ``ready``, or a dead worker (``reap``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Update, bindparam, select, update
from sqlalchemy.orm import Session

from store.db import Database, core
from store.models import Agent, AgentState, utcnow

LOGGED_OUT, AVAILABLE, RINGING = AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.RINGING
ON_CALL, WRAP_UP = AgentState.ON_CALL, AgentState.WRAP_UP
PAUSED, NOT_READY = AgentState.PAUSED, AgentState.NOT_READY

#: Ringing or on a call: the agent's own changes wait until the call is over.
BUSY = frozenset({RINGING, ON_CALL})
#: States from which an agent may soon be free, so a caller may wait for them.
SOON_FREE = frozenset({AVAILABLE, RINGING, ON_CALL, WRAP_UP})
#: Not busy: the states from which agents change their own state (their desk's buttons).
IDLE = frozenset({LOGGED_OUT, AVAILABLE, WRAP_UP, PAUSED, NOT_READY})


@dataclass(frozen=True)
class Transition:
    """One named move: from any of *sources* to *target*. ``by_claim``: only while the agent
    is claimed by the call named in the move (``claimed_by_call``)."""

    sources: frozenset[AgentState]
    target: AgentState
    by_claim: bool = False


#: Every allowed move; anything else is refused.
TRANSITIONS: dict[str, Transition] = {
    "claim": Transition(frozenset({AVAILABLE}), RINGING),
    "unclaim": Transition(frozenset({RINGING}), AVAILABLE, by_claim=True),
    "withdraw": Transition(frozenset({RINGING}), AVAILABLE, by_claim=True),
    "answer": Transition(frozenset({RINGING}), ON_CALL),
    "bridge": Transition(BUSY, ON_CALL),
    "no_answer": Transition(frozenset({RINGING}), NOT_READY),
    "wrap_up": Transition(BUSY, WRAP_UP),
    "release": Transition(BUSY, AVAILABLE),
    "end_wrap_up": Transition(frozenset({WRAP_UP}), AVAILABLE),
    "reap": Transition(BUSY, AVAILABLE, by_claim=True),
    "ready": Transition(IDLE, AVAILABLE),
    "pause": Transition(IDLE, PAUSED),
    "log_out": Transition(IDLE, LOGGED_OUT),
    "finish_wrap_up": Transition(frozenset({WRAP_UP}) | BUSY, AVAILABLE),
}

#: The console's state buttons: what the agent asks for -> the move.
OWN_STATES = {"available": "ready", "paused": "pause", "logged_out": "log_out"}


def allowed(name: str, state: AgentState) -> bool:
    """Whether move *name* may start from *state* (an unknown name is a `KeyError`)."""
    return state in TRANSITIONS[name].sources


def move(
    session: Session | Connection,
    agent_id: int,
    name: str,
    *,
    call_id: str | None = None,
    **values: Any,
) -> bool:
    """Make move *name* for one agent if their state allows it; False (nothing changed) if not.

    *values* are the other columns the move sets (``claimed_by_call``, ``state_reason``,
    ``state_since``); a ``by_claim`` move also needs the agent claimed by *call_id*. Runs a
    prepared statement on the Core connection (in the session's transaction); the agent's
    row is not loaded, and a loaded `Agent` object is not refreshed.
    """
    transition = TRANSITIONS[name]
    if transition.by_claim and call_id is None:
        raise ValueError(f"move {name!r} needs the call that claimed the agent")
    statement = _move_statement(transition.by_claim, tuple(sorted(values)))
    params = {f"v_{column}": value for column, value in values.items()}
    params |= {
        "agent": agent_id,
        "sources": sorted(transition.sources),
        "target": transition.target,
    }
    if transition.by_claim:
        params["call"] = call_id
    return core(session).execute(statement, params).rowcount == 1


@functools.cache
def _move_statement(by_claim: bool, columns: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE of a move setting *columns*, built once (bound parameters:
    ``agent``, ``sources``, ``target``, ``call`` and ``v_<column>``)."""
    query = update(Agent).where(
        Agent.id == bindparam("agent"), Agent.state.in_(bindparam("sources", expanding=True))
    )
    if by_claim:
        query = query.where(Agent.claimed_by_call == bindparam("call"))
    return query.values({"state": bindparam("target"), **{c: bindparam(f"v_{c}") for c in columns}})


def _move(db: Database, agent_id: int, name: str, **values: Any) -> bool:
    with db.transaction() as connection:
        return move(connection, agent_id, name, **values)


# -- the worker's moves ---------------------------------------------------------------------


def claim(db: Database, agent_id: int, call_id: str) -> bool:
    """Available -> ringing for *call_id*; False when someone was faster."""
    return _move(db, agent_id, "claim", claimed_by_call=call_id, state_since=utcnow())


def unclaim(db: Database, agent_id: int, call_id: str, idle_since: datetime) -> bool:
    """Give back an agent we claimed but cannot use, keeping their place as longest idle."""
    return _move(
        db, agent_id, "unclaim", call_id=call_id, claimed_by_call=None, state_since=idle_since
    )


def withdraw(db: Database, agent_id: int, call_id: str) -> bool:
    """The caller left the line while the agent rang: the agent is available, untouched."""
    return _move(db, agent_id, "withdraw", call_id=call_id, claimed_by_call=None)


def answer(db: Database, agent_id: int) -> bool:
    """The ringing agent picked up: on call."""
    return _move(db, agent_id, "answer", state_since=utcnow())


def bridge(db: Database, agent_id: int, call_id: str) -> bool:
    """The agent is bridged with the caller: on call, claimed by *call_id* (for the reaper)."""
    return _move(db, agent_id, "bridge", claimed_by_call=call_id, state_since=utcnow())


def no_answer(db: Database, agent_id: int) -> bool:
    """The ring timed out: not ready until the agent says otherwise."""
    return _end_claim(db, agent_id, "no_answer", "no answer")


def wrap_up(db: Database, agent_id: int, reason: str | None = None) -> bool:
    """The agent's call ended after they had it (or they were transferred away): wrap-up."""
    return _end_claim(db, agent_id, "wrap_up", reason)


def release(db: Database, agent_id: int, reason: str | None = None) -> bool:
    """The call ended before the agent had it: available again."""
    return _end_claim(db, agent_id, "release", reason)


def _end_claim(db: Database, agent_id: int, name: str, reason: str | None) -> bool:
    return _move(
        db, agent_id, name, state_reason=reason, claimed_by_call=None, state_since=utcnow()
    )


def end_due_wrap_ups(db: Database, now: datetime | None = None) -> list[int]:
    """Agents whose wrap-up time is over become available again; returns their ids."""
    now = now or utcnow()
    with db.transaction() as connection:
        wrapping = connection.execute(_WRAPPING).tuples()
        due = [
            agent_id
            for agent_id, since, seconds in wrapping
            if since + timedelta(seconds=seconds) <= now
        ]
        return [
            agent_id
            for agent_id in due
            if move(connection, agent_id, "end_wrap_up", state_reason=None, state_since=now)
        ]


_WRAPPING = select(Agent.id, Agent.state_since, Agent.wrapup_seconds).where(Agent.state == WRAP_UP)


def reap(session: Session, call_ids: Iterable[str], now: datetime | None = None) -> list[int]:
    """The agents claimed by these calls of a dead worker are available again; their ids.
    In the reaper's own transaction (*session*), with the calls it closes."""
    now = now or utcnow()
    calls = list(call_ids)
    if not calls:
        return []
    claimed = session.execute(
        select(Agent.id, Agent.claimed_by_call).where(Agent.claimed_by_call.in_(calls))
    ).all()
    return [
        agent_id
        for agent_id, call_id in claimed
        if move(
            session,
            agent_id,
            "reap",
            call_id=call_id,
            state_reason="worker failed",
            claimed_by_call=None,
            state_since=now,
        )
    ]


# -- the agent's own moves (the console) --------------------------------------------------------


def set_own_state(db: Database, agent_id: int, wanted: str, reason: str | None = None) -> bool:
    """The agent's state buttons (`OWN_STATES`); a pause keeps its reason. False while busy."""
    name = OWN_STATES.get(wanted)
    if name is None:
        raise ValueError(f"an agent sets {', '.join(OWN_STATES)}, not {wanted!r}")
    return _move(
        db,
        agent_id,
        name,
        state_reason=reason if name == "pause" else None,
        state_since=utcnow(),
        claimed_by_call=None,
    )


def log_out(db: Database, agent_id: int) -> bool:
    """Sign-out: logged out, unless a call rings or runs (then the state stays)."""
    return set_own_state(db, agent_id, "logged_out")


def finish_wrap_up(db: Database, agent_id: int) -> bool:
    """The agent sent their wrap-up: available (also when the worker has not let them go yet)."""
    return _move(
        db,
        agent_id,
        "finish_wrap_up",
        state_reason=None,
        claimed_by_call=None,
        state_since=utcnow(),
    )


def state_of(db: Database, agent_id: int) -> AgentState | None:
    with db.session() as session:
        return session.scalar(select(Agent.state).where(Agent.id == agent_id))
