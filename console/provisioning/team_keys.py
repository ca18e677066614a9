"""The line keys a desk phone gets from its agent's team, on top of those an admin set: one
key on the agent's own state (``agent-<extension>``; a press dials ``*22``, pause) and a
busy-lamp field per colleague with a device. A team is the agents who serve a queue in common
(an agent with no queue list serves every queue, so shares one with everybody); admins are not
on the floor and take no key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hardware.provisioning import KeyKind, LineKey
from store.models import Agent, Device, Role

#: Keys the team may add; the phone's own keys come first and count against it too.
MAX_LINE_KEYS = 10
PAUSE_CODE = "*22"


def _share_a_queue(mine: Sequence[str], theirs: Sequence[str]) -> bool:
    return not mine or not theirs or bool(set(mine) & set(theirs))


def team_line_keys(session: Session, device: Device) -> tuple[LineKey, ...]:
    """The keys for *device*'s agent's team (empty when no agent uses the device)."""
    agent = session.scalar(select(Agent).where(Agent.device_id == device.id))
    if agent is None or agent.role == Role.ADMIN:
        return ()
    keys = [LineKey(KeyKind.AGENT_STATE, "My state", f"agent-{device.extension}", PAUSE_CODE)]
    colleagues = session.execute(
        select(Agent.name, Agent.queues, Device.extension)
        .join(Device, Device.id == Agent.device_id)
        .where(Agent.id != agent.id, Agent.role != Role.ADMIN, Agent.disabled_at.is_(None),
               Device.disabled_at.is_(None))
        .order_by(Agent.name, Device.extension)
    ).all()
    for name, queues, extension in colleagues:
        if _share_a_queue(agent.queues or [], queues or []):
            keys.append(LineKey(KeyKind.BLF, name[:16], extension, extension))
    return tuple(keys)


def merged_line_keys(configured: Sequence[LineKey], team: Sequence[LineKey],
                     limit: int = MAX_LINE_KEYS) -> tuple[LineKey, ...]:
    """The admin's keys, then the team's keys that watch something new, at most *limit*."""
    watched = {key.target for key in configured}
    added = [key for key in team if key.target not in watched]
    return (*configured, *added)[:limit]
