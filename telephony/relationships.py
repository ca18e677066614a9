"""Who knows a customer, and who must never be routed to them.

Relationship routing offers a returning customer the agent on their profile (preferred) or the
agent who last served them first; negative affinity (`store.models.RoutingBlock`, asked by the
customer or by the agent) removes an agent from a customer's routing altogether, at every step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    DateTime,
    Select,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from store.db import core
from store.models import Agent, Call, Customer, Interaction, RoutingBlock

Pair = tuple[int, int]  # (customer_id, agent_id)


def blocked_pairs(session: Session, customer_ids: Iterable[int | None]) -> set[Pair]:
    """The (customer, agent) pairs among these customers that must never be routed."""
    wanted = sorted({c for c in customer_ids if c is not None})
    if not wanted:
        return set()
    rows = session.execute(
        select(RoutingBlock.customer_id, RoutingBlock.agent_id).where(
            RoutingBlock.customer_id.in_(wanted)
        )
    ).tuples()
    return set(rows.all())


def block(
    session: Session, customer_id: int, agent_id: int, requested_by: str, reason: str | None = None
) -> None:
    """Never route this customer and this agent to each other (idempotent)."""
    if requested_by not in ("customer", "agent"):
        raise ValueError(f"a block is asked by the customer or the agent, not {requested_by!r}")
    known = session.scalar(
        select(RoutingBlock).where(
            RoutingBlock.customer_id == customer_id, RoutingBlock.agent_id == agent_id
        )
    )
    if known is None:
        session.add(
            RoutingBlock(
                customer_id=customer_id,
                agent_id=agent_id,
                requested_by=requested_by,
                reason=reason,
            )
        )


@dataclass(frozen=True)
class Known:
    """An agent who knows a customer: why, in words, and the queues the agent serves."""

    agent_id: int
    why: str
    queues: list[str]

    def serves(self, queue: str) -> bool:
        """Whether the agent takes callers of *queue* (no queues listed: every queue)."""
        return not self.queues or queue in self.queues


_PREFERRED, _INTERACTION, _CALL = 0, 1, 2


def _candidates(customer_id: BindParameter[int]) -> Select[Any]:
    """One statement: the preferred agent, the agent of the latest interaction and of the
    latest call, each with their queues and whether the customer and agent are blocked."""
    preferred = select(
        Customer.preferred_agent_id.label("agent_id"),
        cast(null(), DateTime).label("at"),
        literal(_PREFERRED).label("source"),
    ).where(Customer.id == customer_id, Customer.preferred_agent_id.is_not(None))
    interaction = (
        select(Interaction.agent_id, Interaction.at, literal(_INTERACTION).label("source"))
        .where(Interaction.customer_id == customer_id, Interaction.agent_id.is_not(None))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(1)
        .subquery()
    )
    call = (
        select(Call.agent_id, Call.started_at.label("at"), literal(_CALL).label("source"))
        .where(Call.customer_id == customer_id, Call.agent_id.is_not(None))
        .order_by(Call.started_at.desc())
        .limit(1)
        .subquery()
    )
    found = union_all(preferred, select(interaction), select(call)).subquery()
    return (
        select(
            found.c.agent_id,
            found.c.at,
            found.c.source,
            Agent.queues,
            RoutingBlock.id.label("block_id"),
        )
        .join(Agent, Agent.id == found.c.agent_id)
        .outerjoin(
            RoutingBlock,
            (RoutingBlock.customer_id == customer_id) & (RoutingBlock.agent_id == Agent.id),
        )
        .order_by(found.c.source)
    )


_CANDIDATES = _candidates(bindparam("customer"))


def known_agents(session: Session | Connection, customer_id: int | None) -> list[Known]:
    """The agents who know this customer, best first (the preferred agent on their profile,
    then whoever last served them, from the interactions or the calls), read in one
    statement; an agent blocked for the customer is never among them."""
    if customer_id is None:
        return []
    rows = core(session).execute(_CANDIDATES, {"customer": customer_id}).all()
    found: list[Known] = []
    preferred = [row for row in rows if row.source == _PREFERRED]
    if preferred:
        found.append(Known(preferred[0].agent_id, _PREFERRED_WHY, preferred[0].queues or []))
    served = [row for row in rows if row.source != _PREFERRED]
    latest = max(served, key=lambda row: row.at, default=None)
    if latest is not None and all(known.agent_id != latest.agent_id for known in found):
        why = f"last served this customer on {latest.at:%Y-%m-%d}"
        found.append(Known(latest.agent_id, why, latest.queues or []))
    blocked = {row.agent_id for row in rows if row.block_id is not None}
    return [known for known in found if known.agent_id not in blocked]


_PREFERRED_WHY = "preferred agent on the customer's profile"


def relationship_agents(
    session: Session | Connection, customer_id: int | None
) -> list[tuple[int, str]]:
    """The agents who know this customer, best first, each with the reason in words; an agent
    blocked for the customer is never among them."""
    return [(known.agent_id, known.why) for known in known_agents(session, customer_id)]
