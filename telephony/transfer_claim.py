"""Whose desk a transfer lands on: the available agent signed in at the target's extension.

A transfer to a colleague's extension claims that colleague (available -> ringing, the same
compare-and-set move as an offer from the line, `store.agents.claim`), so their desk pops the
caller's profile and their state follows the call: on call when they answer, wrap-up after, not
ready when they let it ring out. A colleague who is paused, busy or signed out is not claimed:
their phone still rings, without a pop. Runs on the worker's store thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from store import agents
from store.db import Database
from store.models import Agent, AgentState, Device


@dataclass(frozen=True)
class TransferClaim:
    """The colleague a transfer claimed, why (the pop's "Routed to you: ..."), and whether
    their device answers on its own (then it is rung with the intercom hint)."""

    agent_id: int
    reason: str
    auto_answer: bool


def claim_transfer_target(
    db: Database, extension: str, call_id: str, from_agent_id: int | None
) -> TransferClaim | None:
    """Claim the available agent at *extension* for *call_id*; None when nobody available
    sits there (or someone else claimed them first)."""
    with db.session() as session:
        row = session.execute(
            select(Agent.id, Device.auto_answer)
            .join(Device, Agent.device_id == Device.id)
            .where(Device.extension == extension, Agent.state == AgentState.AVAILABLE)
            .limit(1)
        ).first()
        by = (
            session.scalar(select(Agent.name).where(Agent.id == from_agent_id))
            if from_agent_id is not None
            else None
        )
    if row is None or not agents.claim(db, row.id, call_id):
        return None
    reason = f"transferred to you by {by}" if by else "transferred to you"
    return TransferClaim(row.id, reason, bool(row.auto_answer))
