"""Which agent gets which caller: atomic claims of agents in the database.

A claim is a compare-and-set ``UPDATE ... WHERE state = 'available'`` so that several worker
processes never ring the same agent, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from store.db import Database
from store.models import Agent, AgentState, Device, utcnow


@dataclass(frozen=True)
class ClaimedAgent:
    agent_id: int
    name: str
    extension: str
    reason: str


def try_claim(db: Database, agent_id: int, call_id: str) -> bool:
    """Move one agent from available to ringing for *call_id*; False when someone was faster."""
    with db.session() as session:
        result = session.execute(
            update(Agent)
            .where(Agent.id == agent_id, Agent.state == AgentState.AVAILABLE)
            .values(state=AgentState.RINGING, claimed_by_call=call_id, state_since=utcnow())
        )
        return result.rowcount == 1


def claim_agent(
    db: Database, call_id: str, skill: str | None = None, preferred: list[int] | None = None
) -> ClaimedAgent | None:
    """Claim the first preferred agent that is free, else the longest-idle one with *skill*."""
    with db.session() as session:
        rows = session.execute(
            select(Agent.id, Agent.name, Agent.skills, Device.extension)
            .join(Device, Agent.device_id == Device.id)
            .where(Agent.state == AgentState.AVAILABLE)
            .order_by(Agent.state_since, Agent.id)
        ).all()
    by_id = {row.id: row for row in rows}
    candidates = [(by_id[a], "preferred agent") for a in (preferred or []) if a in by_id]
    candidates += [
        (row, f"longest idle with skill {skill}" if skill else "longest idle")
        for row in rows
        if skill is None or skill in (row.skills or [])
    ]
    for row, reason in candidates:
        if try_claim(db, row.id, call_id):
            return ClaimedAgent(row.id, row.name, row.extension, reason)
    return None


def release_agent(
    db: Database, agent_id: int, state: AgentState, reason: str | None = None
) -> None:
    """End an agent's claim: back to available, into wrap-up, or not ready after no answer."""
    with db.session() as session:
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(state=state, state_reason=reason, claimed_by_call=None, state_since=utcnow())
        )
