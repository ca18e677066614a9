"""Queues: the skill a queue needs, its priority, how long a caller waits for the agent who
knows them (relationship wait) and how long an agent's phone rings. Workers read a queue's row
for every caller (`telephony.router.queue_settings`), so a change holds from the next caller on.
A queue that support numbers feed cannot be deleted (the message says which)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.admin.services import audit
from console.admin.services.base import NAME_WORD, Actor, Conflict, Form, NotFound
from store.models import Queue, QueueEntry, SupportNumber

_WORD_HINT = "lower-case letters, digits, '-', '_' or '.'"


def describe(queue: Queue) -> dict[str, Any]:
    return {"id": queue.id, "name": queue.name, "skill": queue.skill, "priority": queue.priority,
            "relationship_wait_seconds": queue.relationship_wait_seconds,
            "ring_timeout_seconds": queue.ring_timeout_seconds,
            "survey_enabled": queue.survey_enabled, "survey_cap_days": queue.survey_cap_days}


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
