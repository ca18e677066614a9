"""People: agents, supervisors and admins. Added with a password generated once or a one-time
link to set their own; edited (role, skills, credit limit, device); disabled instead of deleted,
so calls, notes and credits keep their names. Agent states stay `store.agents`' business."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import NAME_WORD, Actor, Conflict, Form, NotFound
from store.admin_tables import PasswordLink
from store.models import Agent, AgentState, Device, Role, utcnow
from store.passwords import ScryptCost, hash_password

_USERNAME = re.compile(r"[a-z][a-z0-9_.-]{1,63}")
LINK_LIFETIME = timedelta(hours=24)
MAX_CREDIT_CENTS = 10_000_000


@dataclass(frozen=True)
class Welcome:
    """How a new person (or one whose password was reset) gets in: shown to the admin once."""

    agent_id: int
    username: str
    password: str | None = None  # generated once
    link_secret: str | None = None  # the one-time link's secret (the page builds the URL)


def describe(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "username": agent.username,
        "role": agent.role.value,
        "skills": list(agent.skills or []),
        "credit_limit_cents": agent.credit_limit_cents,
        "device_id": agent.device_id,
        "extension": agent.device.extension if agent.device is not None else None,
        "disabled": agent.disabled_at is not None,
        "password_hash": agent.password_hash,  # redacted by the audit log, left out of as_json
    }


def as_json(agent: Agent) -> dict[str, Any]:
    data = describe(agent)
    data.pop("password_hash")
    data["state"] = agent.state.value
    return data


def listing(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.name)))


def get(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"no person {agent_id}")
    return agent


def _fields(session: Session, form: Form, current: Agent | None) -> dict[str, Any]:
    values: dict[str, Any] = {"name": form.text("name", required=True, max_length=200)}
    role_text = form.text("role", required=True)
    try:
        values["role"] = Role(role_text) if role_text else None
    except ValueError:
        form.errors["role"] = "one of agent, supervisor, admin"
    values["skills"] = form.words("skills", pattern=NAME_WORD,
                                  hint="lower-case letters, digits, '-', '_' or '.'")
    credit = form.text("credit_limit", max_length=12)
    values["credit_limit_cents"] = current.credit_limit_cents if current else 5000
    if credit is not None:
        try:
            cents = round(float(credit) * 100)
        except ValueError:
            cents = -1
        if not 0 <= cents <= MAX_CREDIT_CENTS:
            form.errors["credit_limit"] = f"an amount from 0 to {MAX_CREDIT_CENTS // 100}"
        else:
            values["credit_limit_cents"] = cents
    extension = form.text("extension", max_length=15)
    values["device_id"] = None
    if extension is not None:
        device = session.scalar(select(Device).where(Device.extension == extension))
        if device is None:
            form.errors["extension"] = f"no device has extension {extension}; add it first"
        else:
            values["device_id"] = device.id
    if current is None:
        username = form.text("username", required=True, max_length=64, pattern=_USERNAME,
                             hint="lower-case letters, digits, '.', '_' or '-', from a letter")
        if username is not None and session.scalar(
            select(Agent.id).where(Agent.username == username)
        ):
            form.errors["username"] = f"{username} is taken"
        values["username"] = username
    return values


def _welcome(session: Session, actor: Actor, agent: Agent, how: str, cost: ScryptCost
             ) -> Welcome:
    if how == "link":
        secret = secrets.token_urlsafe(32)
        agent.password_hash = "!"  # no password matches until the link is used
        session.add(PasswordLink(agent_id=agent.id, secret_sha256=_digest(secret),
                                 expires_at=utcnow() + LINK_LIFETIME,
                                 created_by=actor.agent_id))
        return Welcome(agent.id, agent.username, link_secret=secret)
    password = secrets.token_urlsafe(12)
    agent.password_hash = hash_password(password, cost)
    return Welcome(agent.id, agent.username, password=password)


def create(session: Session, actor: Actor, data: dict[str, Any], cost: ScryptCost) -> Welcome:
    form = Form(data)
    values = _fields(session, form, None)
    how = form.text("password", max_length=16) or "generate"
    if how not in ("generate", "link"):
        form.errors["password"] = "generate or link"
    form.check()
    agent = Agent(password_hash="!", state=AgentState.LOGGED_OUT, **values)
    session.add(agent)
    session.flush()
    welcome = _welcome(session, actor, agent, how, cost)
    session.flush()
    session.refresh(agent)
    audit.record(session, actor, "person.create", "person", agent.id, agent.username,
                 None, describe(agent))
    return welcome


def update(session: Session, actor: Actor, agent_id: int, data: dict[str, Any]) -> Agent:
    agent = get(session, agent_id)
    before = describe(agent)
    form = Form({"name": agent.name, "role": agent.role.value, **data})
    values = _fields(session, form, agent)
    if agent.id == actor.agent_id and values.get("role") not in (None, Role.ADMIN):
        form.errors["role"] = "you cannot take away your own admin role"
    form.check()
    for key, value in values.items():
        setattr(agent, key, value)
    session.flush()
    session.refresh(agent)
    audit.record(session, actor, "person.update", "person", agent.id, agent.username,
                 before, describe(agent))
    return agent


def reset_password(session: Session, actor: Actor, agent_id: int, how: str, cost: ScryptCost
                   ) -> Welcome:
    agent = get(session, agent_id)
    before = describe(agent)
    welcome = _welcome(session, actor, agent, "link" if how == "link" else "generate", cost)
    agent.session_version += 1  # whoever had the old password is signed out
    audit.record(session, actor, "person.password", "person", agent.id, agent.username,
                 before, describe(agent))
    return welcome


def disable(session: Session, actor: Actor, agent_id: int) -> Agent:
    agent = get(session, agent_id)
    if agent.id == actor.agent_id:
        raise Conflict("you cannot disable yourself")
    if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
        raise Conflict(f"{agent.name} is {agent.state.value.replace('_', ' ')}; try after the call")
    if agent.disabled_at is not None:
        return agent
    before = describe(agent)
    agent.disabled_at = utcnow()
    agent.session_version += 1  # signed out on every console
    audit.record(session, actor, "person.disable", "person", agent.id, agent.username,
                 before, describe(agent))
    return agent


def enable(session: Session, actor: Actor, agent_id: int) -> Agent:
    agent = get(session, agent_id)
    if agent.disabled_at is None:
        return agent
    before = describe(agent)
    agent.disabled_at = None
    audit.record(session, actor, "person.enable", "person", agent.id, agent.username,
                 before, describe(agent))
    return agent


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def redeem_link(session: Session, secret: str, password: str, cost: ScryptCost) -> Agent | None:
    """Set the password of the link's person and use the link up; None when the link is
    unknown, used or expired (the caller says so without telling which)."""
    link = link_for(session, secret)
    if link is None:
        return None
    agent = session.get(Agent, link.agent_id)
    if agent is None or agent.disabled_at is not None:
        return None
    link.used_at = utcnow()
    link.uses += 1
    agent.password_hash = hash_password(password, cost)
    agent.session_version += 1
    return agent


def link_for(session: Session, secret: str) -> PasswordLink | None:
    link = session.scalar(select(PasswordLink).where(PasswordLink.secret_sha256 == _digest(secret)))
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        return None
    return link
