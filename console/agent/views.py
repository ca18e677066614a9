"""Agent pages: the desk (with the agent's latest calls), the desk's current screen pop, and its
server-sent event stream."""

from __future__ import annotations

from flask import Response, g, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from console.agent import bp
from console.agent.own_calls import own_calls
from console.auth.roles import AGENT_DESK, requires
from console.extensions import database, hub
from console.hub import agent_topic
from console.inventory.headsets import headset_views
from console.presence import desk_notice, presence
from console.streams import event_stream
from store.models import Agent, Device, Role, SupportNumber
from store.supervision import MonitorSession


@bp.get("/")
@requires(*AGENT_DESK)
def desk() -> ResponseReturnValue:
    with database().session() as session:
        agent = g.agent
        device = session.get(Device, agent.device_id) if agent.device_id else None
        devices = session.scalars(select(Device).order_by(Device.extension)).all()
        colleagues = session.execute(
            select(Agent.name, Device.extension)
            .join(Device, Agent.device_id == Device.id)
            .where(Agent.id != agent.id, Agent.role != Role.ADMIN)
            .order_by(Agent.name)
        ).all()
        queues = sorted(set(session.scalars(select(SupportNumber.queue))))
        headset = next(iter(headset_views(session, device.id)), None) if device else None
        watching = (
            session.scalars(
                select(MonitorSession).where(
                    MonitorSession.call_id == agent.claimed_by_call,
                    MonitorSession.ended_at.is_(None),
                )
            ).first()
            if agent.claimed_by_call
            else None
        )
        mode = (watching.modes or [{}])[-1].get("mode") if watching is not None else None
        calls = own_calls(session, agent.id)
        supervisor = desk_notice(
            presence(database()),
            agent.claimed_by_call or "",
            mode if isinstance(mode, str) else None,
        )
    return render_template(
        "agent/desk.html",
        agent=agent,
        device=device,
        headset=headset,
        devices=devices,
        colleagues=colleagues,
        queues=queues,
        supervisor=supervisor,
        own_calls=calls,
    )


@bp.get("/api/current")
@requires(*AGENT_DESK)
def current_pop() -> ResponseReturnValue:
    return jsonify(pop=hub().last_pop(g.agent.id))


@bp.get("/events")
@requires(*AGENT_DESK)
def events() -> Response:
    return event_stream(agent_topic(g.agent.id))
