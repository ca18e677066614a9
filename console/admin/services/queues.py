"""Queues: the skill a queue needs, its priority, how long a caller waits for the agent who
knows them (relationship wait) and for an agent with the skill (skill wait), how long an agent's
phone rings, and callbacks: whether a waiting caller is offered one (key 1), who is rung first,
how many tries and how far apart. Workers read a queue's row for every caller and every
callback try (`telephony.router.queue_settings`, `telephony.line_plan`), so a change holds from
the next caller on. A queue that support numbers feed cannot be deleted (the message says
which)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import NAME_WORD, Actor, Conflict, Form, NotFound
from store.models import Queue, QueueEntry, SupportNumber

_WORD_HINT = "lower-case letters, digits, '-', '_' or '.'"
#: Who a callback rings first: the agent, then the customer; or the customer while the agent
#: is held (the words the worker reads, `telephony.line_plan`).
AGENT_FIRST, CUSTOMER_FIRST = "agent_first", "customer_first"
CALLBACK_MODES = (AGENT_FIRST, CUSTOMER_FIRST)


def describe(queue: Queue) -> dict[str, Any]:
    return {"id": queue.id, "name": queue.name, "skill": queue.skill, "priority": queue.priority,
            "relationship_wait_seconds": queue.relationship_wait_seconds,
            "ring_timeout_seconds": queue.ring_timeout_seconds,
            "skill_wait_seconds": queue.skill_wait_seconds,
            "callback_offer": queue.callback_offer, "callback_mode": queue.callback_mode,
            "callback_attempts": queue.callback_attempts,
            "callback_retry_seconds": queue.callback_retry_seconds,
            "survey_enabled": queue.survey_enabled, "survey_cap_days": queue.survey_cap_days,
            "music": queue.music}


def listing(session: Session) -> list[Queue]:
    return list(session.scalars(select(Queue).order_by(Queue.name)))


def get(session: Session, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(f"no queue {queue_id}")
    return queue


def _fields(session: Session, form: Form, current: Queue | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "skill": form.text("skill", max_length=64, pattern=NAME_WORD, hint=_WORD_HINT),
        "priority": form.integer("priority", default=current.priority if current else 0,
                                 low=-100, high=100),
        "relationship_wait_seconds": form.integer(
            "relationship_wait_seconds",
            default=current.relationship_wait_seconds if current else 20, low=0, high=600),
        "ring_timeout_seconds": form.integer(
            "ring_timeout_seconds", default=current.ring_timeout_seconds if current else 15,
            low=5, high=120),
        "skill_wait_seconds": form.integer(
            "skill_wait_seconds", default=current.skill_wait_seconds if current else 60,
            low=0, high=3600),
        # Callbacks: a form or body that leaves a field out keeps what the queue has.
        "callback_offer": form.flag(
            "callback_offer", default=bool(current.callback_offer) if current else True),
        "callback_mode": _callback_mode(form, current),
        "callback_attempts": form.integer(
            "callback_attempts", default=current.callback_attempts if current else 3,
            low=1, high=10),
        "callback_retry_seconds": form.integer(
            "callback_retry_seconds", default=current.callback_retry_seconds if current else 120,
            low=30, high=86400),
        # The post-call survey (docs/survey.md): a form left out keeps what the queue has.
        "survey_enabled": form.flag(
            "survey_enabled", default=bool(current.survey_enabled) if current else False),
        "survey_cap_days": form.integer(
            "survey_cap_days", default=current.survey_cap_days if current else 7,
            low=0, high=365),
    }
    if current is None:
        name = form.text("name", required=True, max_length=64, pattern=NAME_WORD,
                         hint=_WORD_HINT)
        if name and session.scalar(select(Queue.id).where(Queue.name == name)):
            form.errors["name"] = f"a queue {name!r} exists"
        values["name"] = name
    return values


def _callback_mode(form: Form, current: Queue | None) -> str:
    fallback = current.callback_mode if current else AGENT_FIRST
    mode = form.text("callback_mode", max_length=16) or fallback
    if mode not in CALLBACK_MODES:
        form.errors["callback_mode"] = "agent_first or customer_first"
        return fallback
    return mode


def create(session: Session, actor: Actor, data: dict[str, Any]) -> Queue:
    form = Form(data)
    values = _fields(session, form, None)
    form.check()
    queue = Queue(**values)
    session.add(queue)
    session.flush()
    audit.record(session, actor, "queue.create", "queue", queue.id, queue.name, None,
                 describe(queue))
    return queue


def update(session: Session, actor: Actor, queue_id: int, data: dict[str, Any]) -> Queue:
    queue = get(session, queue_id)
    before = describe(queue)
    form = Form({**before, **data})
    values = _fields(session, form, queue)
    form.check()
    for key, value in values.items():
        setattr(queue, key, value)
    audit.record(session, actor, "queue.update", "queue", queue.id, queue.name, before,
                 describe(queue))
    return queue


def users(session: Session, queue: Queue) -> list[str]:
    found = [f"support number {n}" for n in session.scalars(
        select(SupportNumber.number).where(SupportNumber.queue == queue.name))]
    waiting = len(session.scalars(select(QueueEntry.id).where(
        QueueEntry.queue == queue.name, QueueEntry.state == "waiting")).all())
    if waiting:
        found.append(f"{waiting} waiting caller(s) or callback(s)")
    return found


def delete(session: Session, actor: Actor, queue_id: int) -> dict[str, Any]:
    queue = get(session, queue_id)
    in_use = users(session, queue)
    if in_use:
        raise Conflict(f"queue {queue.name!r} is in use by {', '.join(in_use)}")
    before = describe(queue)
    session.delete(queue)
    audit.record(session, actor, "queue.delete", "queue", queue_id, queue.name, before, None)
    return before
