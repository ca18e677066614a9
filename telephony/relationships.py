"""Who knows a customer, and who must never be routed to them.

Relationship routing offers a returning customer the agent on their profile (preferred) or the
agent who last served them first; negative affinity (`store.models.RoutingBlock`, asked by the
customer or by the agent) removes an agent from a customer's routing altogether, at every step.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Call, Customer, Interaction, RoutingBlock

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


def relationship_agents(session: Session, customer_id: int | None) -> list[tuple[int, str]]:
    """The agents who know this customer, best first, each with the reason in words; an agent
    blocked for the customer is never among them."""
    if customer_id is None:
        return []
    found: list[tuple[int, str]] = []
    preferred = session.scalar(
        select(Customer.preferred_agent_id).where(Customer.id == customer_id)
    )
    if preferred is not None:
        found.append((preferred, "preferred agent on the customer's profile"))
    last_interaction = session.execute(
        select(Interaction.agent_id, Interaction.at)
        .where(Interaction.customer_id == customer_id, Interaction.agent_id.is_not(None))
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(1)
    ).first()
    last_call = session.execute(
        select(Call.agent_id, Call.started_at)
        .where(Call.customer_id == customer_id, Call.agent_id.is_not(None))
        .order_by(Call.started_at.desc())
        .limit(1)
    ).first()
    latest = max(
        (row for row in (last_interaction, last_call) if row is not None),
        key=lambda row: row[1],
        default=None,
    )
    if latest is not None and all(agent_id != latest[0] for agent_id, _ in found):
        found.append((latest[0], f"last served this customer on {latest[1]:%Y-%m-%d}"))
    if not found:
        return []
    blocked = blocked_pairs(session, [customer_id])
    return [(agent_id, why) for agent_id, why in found if (customer_id, agent_id) not in blocked]
